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

    /// <summary>A worker with --rounds 3 joins at the announced round (0-based): the third, the last asked for, is
    /// answered; the sixth, past it, is not.</summary>
    [Theory]
    [InlineData(2, 1)]
    [InlineData(5, 0)]
    public async Task A_worker_answers_up_to_its_last_round_and_stops(long announcedRound, int answers)
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

        var prior = BusDemoRunner.InitialPrior(new SineDemoOptions { Seed = Seed, InnerLearningRate = InnerLearningRate });
        await bus.PublishAsync(SinePriorAnnouncement.Topic,
            new SinePriorAnnouncement(announcedRound, Seed, Shots: 10, InnerSteps: 5, InnerLearningRate, SequenceBase: 0, prior).ToJson());
        await working;
        await bus.WaitForIdleAsync();

        Assert.Equal(answers, worker.Answered);
        Assert.Equal(answers, Volatile.Read(ref updates));
    }
}
