using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// A cancellation (the CLI's first Ctrl-C or SIGTERM) stops the demo inside a long inner loop, in meta-training and
/// in the held-out evaluation, rather than once the domain's or the task's SGD steps are all done
/// (`meta-gpu demo --inner-steps 2147483647` ran on after a SIGTERM: the token was looked at between domains only).
/// </summary>
public sealed class SineDemoCancellationTests
{
    [Fact]
    public async Task A_cancellation_stops_meta_training_inside_a_domains_inner_loop()
    {
        var options = new SineDemoOptions { MetaRounds = 1, Domains = 1, HeldOutTasks = 1, EvaluationPoints = 10, InnerSteps = int.MaxValue };
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        // Off this thread: the inner loop runs synchronously, and one not stopped would never hand the test back.
        var run = Task.Run(() => SineDemo.RunAsync(options, new WeightedMeanReptileStep(), cancellationToken: cancel.Token));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task A_cancellation_stops_the_held_out_evaluation_inside_a_tasks_inner_loop()
    {
        // Compare has no inner loop before the evaluation: the run is in a held-out task's adaptation when cancelled.
        var options = new SineDemoOptions { MetaRounds = 1, Domains = 1, HeldOutTasks = 1, EvaluationPoints = 10, InnerSteps = int.MaxValue };
        float[] prior;
        using (var init = new SineRegressor(options.Seed, options.InnerLearningRate))
        using (var parameters = new ParameterVector(init.Module))
        {
            prior = new float[parameters.Length];
            parameters.CopyTo(prior);
        }
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var run = Task.Run(() => SineDemo.Compare(options, "host", prior, 0.1, new Dictionary<string, double>(), TimeSpan.Zero, cancellationToken: cancel.Token));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void A_cancellation_stops_AdaptToTask_between_two_SGD_steps()
    {
        using var model = new SineRegressor(1, 0.01);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => SineDemo.AdaptToTask(model, "d", [1, 2], [0.5f, -0.5f], int.MaxValue, cancel.Token));
    }
}
