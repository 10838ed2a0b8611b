using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.TorchSharp.Sine;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>`meta-gpu domain --rounds K` stops after the update of meta-round K: one that joins an aggregator already
/// past round K has nothing to answer (it answered that later round, one more than asked).</summary>
public sealed class DomainWorkerLastRoundTests
{
    private const int Seed = 42;
    private const double InnerLearningRate = 0.05;

    [Fact]
    public async Task A_worker_joining_past_its_last_round_publishes_nothing_and_stops()
    {
        await using var bus = new EventBus();
        var updates = 0;
        using var counted = bus.Subscribe(DenseLearningLane.UpdateTopic, (_, _) =>
        {
            Interlocked.Increment(ref updates);
            return ValueTask.CompletedTask;
        });
        var worker = new SineDomainWorker(bus, "domain-000", Seed, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var working = worker.RunAsync(3, null, stop.Token);

        // The aggregator announces its sixth round (index 5), past --rounds 3.
        await bus.PublishAsync(SinePriorAnnouncement.Topic,
            new SinePriorAnnouncement(5, Seed, Shots: 10, InnerSteps: 5, InnerLearningRate, SequenceBase: 0, InitialPrior()).ToJson());
        await working;
        await bus.WaitForIdleAsync();

        Assert.Equal(0, worker.Answered);
        Assert.Equal(0, Volatile.Read(ref updates));
    }

    [Fact]
    public async Task A_worker_answers_up_to_its_last_round_and_stops()
    {
        await using var bus = new EventBus();
        var updates = 0;
        using var counted = bus.Subscribe(DenseLearningLane.UpdateTopic, (_, _) =>
        {
            Interlocked.Increment(ref updates);
            return ValueTask.CompletedTask;
        });
        var worker = new SineDomainWorker(bus, "domain-000", Seed, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var working = worker.RunAsync(3, null, stop.Token);

        // Joined at the third round, the last asked for: it is answered.
        await bus.PublishAsync(SinePriorAnnouncement.Topic,
            new SinePriorAnnouncement(2, Seed, Shots: 10, InnerSteps: 5, InnerLearningRate, SequenceBase: 0, InitialPrior()).ToJson());
        await working;
        await bus.WaitForIdleAsync();

        Assert.Equal(1, worker.Answered);
        Assert.Equal(1, Volatile.Read(ref updates));
    }

    private static float[] InitialPrior()
    {
        using var model = new SineRegressor(Seed, InnerLearningRate);
        using var parameters = new ParameterVector(model.Module);
        var prior = new float[parameters.Length];
        parameters.CopyTo(prior);
        return prior;
    }
}
