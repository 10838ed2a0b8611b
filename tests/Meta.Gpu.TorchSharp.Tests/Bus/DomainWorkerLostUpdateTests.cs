using System.Diagnostics;
using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.Learning;
using Meta.Gpu.Nats;
using Meta.Gpu.Nats.Tests;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.TorchSharp.Sine;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>
/// A `meta-gpu domain` worker whose update the broker never stored (the broker went away with it, and stayed away
/// past the publish timeout) answers the round again, so the aggregator's run goes on rather than stopping at its
/// round timeout, rerun after rerun, until someone restarts the worker.
/// </summary>
public sealed class DomainWorkerLostUpdateTests : IDisposable
{
    private const int Seed = 42;
    private const double InnerLearningRate = 0.05;

    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-lost-update-").FullName;
    private readonly string _prefix = "u" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task An_update_lost_with_the_broker_past_the_publish_timeout_is_sent_again_and_the_run_completes()
    {
        await using var server = await NatsServer.StartAsync();
        var options = new NatsBusOptions
        {
            Url = server.Url,
            SubjectPrefix = _prefix,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AckWait = TimeSpan.FromSeconds(1),
            // Short, so that the worker's publish is given up while the broker is frozen (the product waits 30 s).
            PublishTimeout = TimeSpan.FromSeconds(1),
            PublishAckWait = TimeSpan.FromMilliseconds(200),
        };
        await using var aggregatorBus = await NatsEventBus.ConnectAsync(options with { DurableName = BusDemoRunner.DurableName });
        await using var workerBus = await NatsEventBus.ConnectAsync(options);
        using var step = new WeightedMeanReptileStep();
        var aggregator = new SyncRoundAggregator(aggregatorBus, new MetaStorageManager(new StorageConfig(Path.Combine(_dir, "storage"))), step,
            ["domain-000"], 0.1, NullLogger.Instance)
        {
            Seed = Seed,
            InnerLearningRate = InnerLearningRate,
            RepeatEvery = TimeSpan.FromMilliseconds(100),
            // Without the worker's second answer the run stops here, naming domain-000.
            RoundTimeout = TimeSpan.FromSeconds(30),
        };
        using var subscription = aggregator.Start(InitialPrior());
        await aggregatorBus.WhenSubscribedAsync();
        // The worker's bus makes the update stream's acquaintance before the broker is frozen (an unexpected
        // domain's update, which the aggregator acknowledges and ignores).
        await workerBus.PublishAsync(DenseLearningLane.UpdateTopic, new DenseUpdate("warm-up", 1, 1, new DomainMetrics(), [0f]));
        await workerBus.WaitForIdleAsync();

        var worker = new SineDomainWorker(new BrokerLosingFirstUpdate(workerBus, server), "domain-000", Seed, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var working = worker.RunAsync(2, null, stop.Token);
        await aggregator.RunRoundsAsync(2, null, stop.Token);
        await working;

        Assert.Equal(2, aggregator.Round);
        Assert.Equal(2, worker.Answered);
        Assert.True(workerBus.NatsStats.PublishFailed >= 1, "the first update was never given up: the test did not lose it");
    }

    private static float[] InitialPrior() =>
        BusDemoRunner.InitialPrior(new SineDemoOptions { Seed = Seed, InnerLearningRate = InnerLearningRate });

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The worker's bus, whose first dense update the broker loses: frozen (SIGSTOP) before the update is written,
    /// so the bytes wait unread in its socket; once the bus has given the publish up, killed and started again on
    /// its state folder, which has no trace of the update.
    /// </summary>
    private sealed class BrokerLosingFirstUpdate(NatsEventBus bus, NatsServer server) : IEventBus
    {
        private int _lost;

        public async ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
        {
            if (topic != DenseLearningLane.UpdateTopic || Interlocked.Exchange(ref _lost, 1) != 0)
            {
                await bus.PublishAsync(topic, payload, cancellationToken);
                return;
            }
            server.Freeze();
            await bus.PublishAsync(topic, payload, cancellationToken);
            var clock = Stopwatch.StartNew();
            while (bus.NatsStats.PublishFailed == 0)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the publish to a frozen broker was never given up");
                await Task.Delay(50, cancellationToken);
            }
            await server.RestartAsync();
        }

        public EventBusStats Stats => bus.Stats;

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => bus.Subscribe(topic, handler);

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => bus.WaitForIdleAsync(cancellationToken);

        public Task ShutdownAsync(TimeSpan timeout) => bus.ShutdownAsync(timeout);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
