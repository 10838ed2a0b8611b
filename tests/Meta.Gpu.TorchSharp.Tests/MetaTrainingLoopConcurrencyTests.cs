using System.Collections.Concurrent;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// MetaTrainingLoop runs its rounds "one at a time" and refuses a second round or a SetPrior while one runs: threads
/// racing rounds and SetPrior on one loop never overlap inside it, every refusal is the documented
/// InvalidOperationException, every accepted round adapts each domain from the prior, and the count and the module
/// agree with the prior at the end.
/// </summary>
public sealed class MetaTrainingLoopConcurrencyTests
{
    [Fact]
    public async Task Rounds_and_SetPrior_raced_from_many_threads_never_overlap_and_every_refusal_is_the_documented_one()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep()) { StepSize = () => 0.5 };
        const int threads = 6;
        const int perThread = 300;
        var inside = 0;
        var problems = new ConcurrentQueue<string>();
        var accepted = 0;
        var refused = 0;
        var start = new Barrier(threads);

        DomainOutcome Inner(string id)
        {
            if (Interlocked.Increment(ref inside) != 1) problems.Enqueue("two rounds inside the loop at once");
            var values = new float[probe.Length];
            probe.CopyTo(values);
            if (!values.AsSpan().SequenceEqual(loop.Prior)) problems.Enqueue($"domain {id} adapted from {string.Join(",", values)}, not the prior {string.Join(",", loop.Prior.ToArray())}");
            probe.CopyFrom(id == "a" ? new float[] { 1, 2, 3 } : new float[] { 3, 2, 1 });
            Interlocked.Decrement(ref inside);
            return new DomainOutcome(id, 1, 0.5, 1);
        }

        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(async () =>
        {
            start.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                try
                {
                    if ((t + i) % 4 == 0) loop.SetPrior(new float[] { t, i, 0 });
                    else
                    {
                        await loop.RunRoundAsync(new[] { "a", "b" }, Inner);
                        Interlocked.Increment(ref accepted);
                    }
                }
                catch (InvalidOperationException e) when (e.Message.Contains("running", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref refused);
                }
                catch (Exception e)
                {
                    problems.Enqueue($"thread {t}: {e.GetType().Name}: {e.Message}");
                }
            }
        }, TaskCreationOptions.LongRunning).Unwrap()).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(problems);
        Assert.Equal(accepted, loop.Round);
        var module = new float[probe.Length];
        probe.CopyTo(module);
        Assert.Equal(loop.Prior.ToArray(), module);
        // The race happened: the test is worth nothing if every call got through alone.
        Assert.True(accepted > 0);
    }

    [Fact]
    public async Task Dispose_raced_against_rounds_lets_each_call_complete_or_refuse_and_leaves_the_module_at_the_prior()
    {
        for (var attempt = 0; attempt < 40; attempt++)
        {
            manual_seed(3);
            using var model = nn.Linear(2, 1);
            using var probe = new ParameterVector(model);
            var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep()) { StepSize = () => 0.5 };
            var problems = new ConcurrentQueue<string>();
            var start = new Barrier(4);
            var rounds = Enumerable.Range(0, 3).Select(t => Task.Factory.StartNew(async () =>
            {
                start.SignalAndWait();
                for (var i = 0; i < 50; i++)
                {
                    try
                    {
                        await loop.RunRoundAsync(new[] { "a", "b" }, id =>
                        {
                            probe.CopyFrom(new float[] { t, i, 1 });
                            return new DomainOutcome(id, 1, 0.5, 1);
                        });
                    }
                    catch (ObjectDisposedException)
                    {
                        return;
                    }
                    catch (InvalidOperationException e) when (e.Message.Contains("running", StringComparison.Ordinal))
                    {
                    }
                    catch (Exception e)
                    {
                        problems.Enqueue($"{e.GetType().Name}: {e.Message}");
                    }
                }
            }, TaskCreationOptions.LongRunning).Unwrap()).ToList();
            var disposer = Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                Thread.SpinWait(2000 * attempt);
                loop.Dispose();
            }, TaskCreationOptions.LongRunning);
            await Task.WhenAll([.. rounds, disposer]).WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Empty(problems);
            var module = new float[probe.Length];
            probe.CopyTo(module);
            Assert.Equal(loop.Prior.ToArray(), module);
            await Assert.ThrowsAsync<ObjectDisposedException>(() => loop.RunRoundAsync(new[] { "a" }, id => new DomainOutcome(id, 1, 0.5, 1)));
        }
    }
}
