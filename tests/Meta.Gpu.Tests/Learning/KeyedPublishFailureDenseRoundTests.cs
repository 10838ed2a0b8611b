using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>DESIGN §10: when the scheduler fires, every lane takes its round on the window's input. A publish of
/// the keyed lane that fails (a broker publish that throws, a bus shutting down) reaches the caller, but must not
/// leave the window half-run: the dense lane still consumes its pending updates and steps as a fault-free run
/// does.</summary>
public sealed class KeyedPublishFailureDenseRoundTests
{
    private const int D = 16;

    /// <summary>An in-process bus whose publish of <see cref="FailOn"/> throws.</summary>
    private sealed class PublishFailingBus(IEventBus inner) : IEventBus
    {
        public string? FailOn { get; set; }

        public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default) =>
            topic == FailOn ? throw new InvalidOperationException($"publish of {topic} refused") : inner.PublishAsync(topic, payload, cancellationToken);

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(topic, handler);

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => inner.WaitForIdleAsync(cancellationToken);

        public Task ShutdownAsync(TimeSpan timeout) => inner.ShutdownAsync(timeout);

        public EventBusStats Stats => inner.Stats;

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private static float[] Vector(int domain) =>
        Enumerable.Range(0, D).Select(c => (float)(Math.Sin(c * 0.4 + domain) + 0.02 * domain)).ToArray();

    private static async Task Feed(MetaLearningAgent agent, int window)
    {
        await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "a", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.0}, "evaluator": {"g_min": 0.01}}""")), default);
        await agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate,
            new DenseUpdate("a", window, 0.8, new DomainMetrics(GainP50: 0.5), Vector(window))), default);
    }

    private static ValueTask Window(MetaLearningAgent agent) =>
        agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 50}""")), default);

    [Theory]
    [InlineData(LearningTopics.MetaTelemetry)]
    [InlineData(LearningTopics.MetaPriorUpdate)]
    [InlineData(LearningTopics.MetaUpdate)]
    public async Task A_keyed_publish_that_throws_reaches_the_caller_and_the_dense_lane_still_takes_the_windows_step(string failingTopic)
    {
        await using var bus = new PublishFailingBus(new EventBus());
        await using var faulty = new MetaLearningAgent(bus, AgentTestConfig.EveryWindow);
        await using var twin = new MetaLearningAgent(new EventBus(), AgentTestConfig.EveryWindow);
        await faulty.StartAsync();
        await twin.StartAsync();

        await Feed(faulty, 1);
        await Feed(twin, 1);
        bus.FailOn = failingTopic;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await Window(faulty));
        Assert.Equal($"publish of {failingTopic} refused", error.Message);
        await Window(twin);

        // The window's round ran whole: the keyed lane and the dense lane both stepped, as in the fault-free twin.
        Assert.Equal(twin.Rounds, faulty.Rounds);
        Assert.Equal(twin.GlobalPrior, faulty.GlobalPrior);
        Assert.Empty(faulty.Dense.PendingDomains);
        Assert.Equal(twin.Dense.Round, faulty.Dense.Round);
        Assert.Equal(twin.Dense.LastAppliedSequences, faulty.Dense.LastAppliedSequences);
        Assert.Equal(twin.Dense.Optimizer!.Prior, faulty.Dense.Optimizer!.Prior);
        Assert.Equal(twin.Dense.Optimizer.Beta, faulty.Dense.Optimizer.Beta);
        Assert.Equal(twin.Dense.Optimizer.RewardEma, faulty.Dense.Optimizer.RewardEma);

        // The next window, with no fault, goes on as the twin's does.
        bus.FailOn = null;
        await Feed(faulty, 2);
        await Feed(twin, 2);
        await Window(faulty);
        await Window(twin);
        Assert.Equal(twin.Dense.Round, faulty.Dense.Round);
        Assert.Equal(twin.Dense.Optimizer.Prior, faulty.Dense.Optimizer.Prior);
        Assert.Equal(twin.GlobalPrior, faulty.GlobalPrior);
    }

    /// <summary>A store of the caller's own with a fault of its own (not a failed save: IPriorStore).</summary>
    private sealed class FaultyStore : IPriorStore
    {
        private readonly InMemoryPriorStore _inner = new();

        public bool Faulty { get; set; }

        public void SavePrior(IReadOnlyDictionary<string, double> prior) => SavePrior(prior, new Dictionary<string, long>());

        public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences)
        {
            if (Faulty) throw new InvalidOperationException("store fault");
            _inner.SavePrior(prior, lastSequences);
        }

        public IReadOnlyDictionary<string, double>? LoadPrior() => _inner.LoadPrior();

        public SavedPrior? LoadPriorWithSequences() => _inner.LoadPriorWithSequences();

        public long SizeBytes() => 0;
    }

    [Fact]
    public async Task A_store_fault_that_ends_the_keyed_round_still_lets_the_dense_lane_take_the_windows_step()
    {
        var store = new FaultyStore { Faulty = true };
        await using var agent = new MetaLearningAgent(new EventBus(), AgentTestConfig.EveryWindow, store);
        await agent.StartAsync();
        await Feed(agent, 1);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await Window(agent));

        Assert.Equal("store fault", error.Message);
        Assert.Empty(agent.Dense.PendingDomains);
        Assert.Equal(1, agent.Dense.Round);
        store.Faulty = false; // the stop saves again
    }
}
