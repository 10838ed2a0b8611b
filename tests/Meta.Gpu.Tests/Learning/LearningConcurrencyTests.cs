using System.Collections.Concurrent;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The thread-safety claims of the learning side: <see cref="InMemoryPriorStore"/> ("Thread-safe") and
/// <see cref="DomainMetaLearner"/> ("Thread-safe (one lock ...)"): threads hammering them lose no update, see no
/// torn state, and end where a serial run ends.
/// </summary>
public sealed class LearningConcurrencyTests
{
    private const int Threads = 8;

    private static void RunTogether(int threads, Action<int> body)
    {
        var start = new Barrier(threads);
        var failures = new ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                body(t);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
    }

    [Fact]
    public void An_in_memory_store_saved_and_loaded_from_many_threads_never_returns_a_torn_prior()
    {
        var store = new InMemoryPriorStore();
        const int iterations = 2000;
        var torn = new ConcurrentQueue<string>();
        RunTogether(Threads, t =>
        {
            for (var i = 0; i < iterations; i++)
            {
                var v = t * iterations + i;
                if (t % 2 == 0)
                {
                    var learners = new SavedLearnerState(new SortedDictionary<string, SavedDomainLearner>(StringComparer.Ordinal),
                        new SavedOptimizerState(v, v));
                    store.SavePrior(new Dictionary<string, double> { ["a"] = v, ["b"] = -v }, new Dictionary<string, long> { ["d"] = v }, learners);
                }
                else
                {
                    store.SavePrior(new Dictionary<string, double> { ["a"] = v, ["b"] = -v }, new Dictionary<string, long> { ["d"] = v });
                }
                var loaded = store.LoadPriorWithSequences()!;
                var a = loaded.Prior["a"];
                if (loaded.Prior["b"] != -a || loaded.LastSequences["d"] != (long)a || (loaded.Learners is { } l && l.Optimizer.Beta != a))
                    torn.Enqueue($"{string.Join(",", loaded.Prior)} {string.Join(",", loaded.LastSequences)} {loaded.Learners?.Optimizer}");
            }
        });
        Assert.Empty(torn);
        Assert.Equal(Threads * iterations, store.Saves);
    }

    [Fact]
    public void A_learner_observed_from_many_threads_ends_as_a_serial_run_ends()
    {
        const int iterations = 600;
        var concurrent = new DomainMetaLearner();
        var serial = new DomainMetaLearner();
        DomainMetrics Metrics(int i) => new(MetaScore: (i % 17) / 17.0, StabilityAvg: (i % 5) / 5.0);
        Dictionary<string, double> Parameters(int t, int i) => new(StringComparer.Ordinal) { ["tau"] = i, [$"k{t}"] = t };

        // One domain per thread (its observations in order, so its state is deterministic), and one domain every
        // thread observes (its order is not, but its count is).
        RunTogether(Threads, t =>
        {
            for (var i = 0; i < iterations; i++)
            {
                concurrent.Observe($"d{t}", Metrics(i), Parameters(t, i));
                concurrent.Observe("shared", Metrics(i), Parameters(t, i));
                _ = concurrent.Snapshot();
                _ = concurrent.Domains;
            }
        });
        for (var t = 0; t < Threads; t++)
            for (var i = 0; i < iterations; i++) serial.Observe($"d{t}", Metrics(i), Parameters(t, i));

        for (var t = 0; t < Threads; t++)
        {
            var got = concurrent.Snapshot()[$"d{t}"];
            var want = serial.Snapshot()[$"d{t}"];
            Assert.Equal(want.Observations, got.Observations);
            Assert.Equal(want.Confidence, got.Confidence);
            Assert.Equal(want.EmaScore, got.EmaScore);
            Assert.Equal(want.History, got.History);
            Assert.Equal(want.PreviousParams, got.PreviousParams);
        }
        Assert.Equal(Threads * iterations, concurrent.State("shared")!.Observations);
        Assert.Equal(Threads + 1, concurrent.Domains.Count);
    }

    [Fact]
    public void One_aggregator_used_from_many_threads_gives_the_serial_result()
    {
        // No thread-safety claim, but the agent and hosts share one instance: it keeps no state between calls.
        var random = new Random(5);
        var updates = Enumerable.Range(0, 9).Select(d => new DomainUpdateInput($"d{d}",
            Enumerable.Range(0, 40).Where(k => (k + d) % 4 != 0).Select(k => $"k{k:D2}").ToArray(),
            Enumerable.Range(0, 40).Where(k => (k + d) % 4 != 0).Select(_ => (float)random.NextDouble()).ToArray(),
            0.5 + d / 20.0)).ToList();
        var aggregator = new CrossDomainMetaAggregator(CrossMetaConfig.Default with { OutlierMinDomains = 3 });
        static string Bits(AggregationResult r) =>
            $"{string.Join(",", r.Keys)}|{string.Join(",", r.Vector.Select(BitConverter.SingleToInt32Bits))}|{r.Meta.ToJson().ToJsonString()}";
        var expected = Bits(aggregator.Aggregate(updates));
        var differ = new ConcurrentQueue<string>();
        RunTogether(Threads, _ =>
        {
            for (var i = 0; i < 300; i++)
            {
                var got = Bits(aggregator.Aggregate(updates));
                if (got != expected) differ.Enqueue(got);
            }
        });
        Assert.Empty(differ);
    }
}
