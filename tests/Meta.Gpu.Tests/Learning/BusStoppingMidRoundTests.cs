using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>DESIGN §10: a round saves, then publishes; a message is acknowledged only after the save that holds it.
/// A bus that stops while a round publishes (its handlers' token cancelled after the keyed save) cannot take the
/// round's events, but what the round saved must stay consistent with what it acknowledged: every message the saves
/// hold is acknowledged (else the broker delivers it again to no use), and the window's dense round still runs and
/// saves as the keyed one did.</summary>
public sealed class BusStoppingMidRoundTests : IDisposable
{
    private const int D = 8;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The in-process bus, whose stop (the handlers' token cancelled) comes as the round's first publish is
    /// made, after the keyed save.</summary>
    private sealed class StoppingBus(IEventBus inner, CancellationTokenSource stopping) : IEventBus
    {
        public List<string> Published { get; } = [];

        public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
        {
            if (topic == LearningTopics.MetaTelemetry) stopping.Cancel();
            if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
            Published.Add(topic);
            return inner.PublishAsync(topic, payload, cancellationToken);
        }

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(topic, handler);

        public IDisposable Subscribe(IReadOnlyList<string> topics, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(topics, handler);

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => inner.WaitForIdleAsync(cancellationToken);

        public Task ShutdownAsync(TimeSpan timeout) => inner.ShutdownAsync(timeout);

        public EventBusStats Stats => inner.Stats;

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private MetaStorageManager Storage() => new(new StorageConfig(_folder.Path));

    [Fact]
    public async Task A_bus_stopping_after_the_keyed_save_loses_no_publish_it_could_take_and_leaves_every_saved_message_acknowledged()
    {
        using var stopping = new CancellationTokenSource();
        await using var bus = new StoppingBus(new EventBus(), stopping);
        var agent = new MetaLearningAgent(bus, AgentTestConfig.EveryWindow, Storage());
        await agent.StartAsync();
        var pack = await DurableDelivery.HandleAsync(() => agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "a", "sequence": 1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.0}, "evaluator": {}}""")), default));
        var dense = await DurableDelivery.HandleAsync(() => agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate,
            new DenseUpdate("a", 1, 0.8, new DomainMetrics(GainP50: 0.5), Enumerable.Repeat(0.5f, D).ToArray())), default));
        Assert.False(pack.Acknowledged);
        Assert.False(dense.Acknowledged);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await agent.HandleAsync(
            new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 50}""")), stopping.Token));

        // Nothing could be published once the bus stopped; the keyed round is saved and its pack acknowledged.
        Assert.Empty(bus.Published);
        var saved = Storage().LoadPriorWithSequences()!;
        Assert.Equal(1.0, saved.Prior["tau"]);
        Assert.Equal(1, saved.LastSequences["a"]);
        Assert.True(pack.Acknowledged, "the pack applied by the saved round was left unacknowledged");
        // The window's dense round still ran, saved, and acknowledged its update.
        Assert.Equal(1, agent.Dense.Round);
        Assert.Equal(1, Storage().LoadDensePrior()!.LastSequences["a"]);
        Assert.True(dense.Acknowledged, "the dense update applied by the saved dense round was left unacknowledged");

        // A restart over the same storage starts from both saved priors.
        await agent.StopAsync();
        await using var restarted = new MetaLearningAgent(new EventBus(), AgentTestConfig.EveryWindow, Storage());
        await restarted.StartAsync();
        Assert.Equal(agent.GlobalPrior, restarted.GlobalPrior);
        Assert.Equal(1, restarted.Dense.Round);
        Assert.Equal(agent.Dense.Optimizer!.Prior, restarted.Dense.Optimizer!.Prior);
    }
}
