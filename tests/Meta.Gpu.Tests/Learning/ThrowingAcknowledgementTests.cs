using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Learning;

/// <summary>DESIGN §10: a round saves, then acknowledges what the save holds, then publishes. An acknowledgement a
/// bus of the caller's own fails to give (its broker connection gone) must not cost the round the others (they are
/// saved too, and each one left ungiven is a message the broker delivers again) nor its publishes: it is logged,
/// and the broker's copy, not newer than the saved sequence, is acknowledged when it comes.</summary>
public sealed class ThrowingAcknowledgementTests : IAsyncDisposable
{
    private const int D = 8;

    private readonly EventBus _inner = new();
    private readonly RecordingLogger _log = new();
    private readonly List<string> _published = [];
    private readonly List<string> _acknowledged = [];

    public async ValueTask DisposeAsync() => await _inner.DisposeAsync();

    private sealed class AgentLogger(ILogger inner) : ILogger<MetaLearningAgent>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }

    /// <summary>The in-process bus, recording the agent's publishes.</summary>
    private sealed class RecordingBus(IEventBus inner, List<string> published) : IEventBus
    {
        public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
        {
            lock (published) published.Add(topic);
            return inner.PublishAsync(topic, payload, cancellationToken);
        }

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(topic, handler);

        public IDisposable Subscribe(IReadOnlyList<string> topics, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(topics, handler);

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => inner.WaitForIdleAsync(cancellationToken);

        public Task ShutdownAsync(TimeSpan timeout) => inner.ShutdownAsync(timeout);

        public EventBusStats Stats => inner.Stats;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private async Task<MetaLearningAgent> Started()
    {
        var agent = new MetaLearningAgent(new RecordingBus(_inner, _published), AgentTestConfig.EveryWindow, logger: new AgentLogger(_log));
        await agent.StartAsync();
        return agent;
    }

    /// <summary>Delivers <paramref name="busEvent"/> as a durable bus does; its acknowledgement, named
    /// <paramref name="name"/>, throws when <paramref name="throws"/>, else is recorded.</summary>
    private async Task Durable(MetaLearningAgent agent, BusEvent busEvent, string name, bool throws = false)
    {
        var acknowledgement = new DeferrableAcknowledgement(() =>
        {
            if (throws) throw new InvalidOperationException($"acknowledging {name}: the broker connection is closed");
            lock (_acknowledged) _acknowledged.Add(name);
            return ValueTask.CompletedTask;
        });
        DeliveryAcknowledgement.Current = acknowledgement;
        try
        {
            await agent.HandleAsync(busEvent, default);
        }
        finally
        {
            DeliveryAcknowledgement.Current = null;
        }
        if (!acknowledgement.Deferred) await acknowledgement.AcknowledgeAsync();
    }

    private static BusEvent Pack(string domain, long sequence) => new(LearningTopics.PolicyPack, JsonNode.Parse(
        $$$"""{"domain_id": "{{{domain}}}", "sequence": {{{sequence}}}, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.0}, "evaluator": {"g_min": 0.01}}"""));

    private static BusEvent Refused(string domain) => new(LearningTopics.PolicyPack, JsonNode.Parse(
        $$$"""{"domain_id": "{{{domain}}}", "sequence": 1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": "nan"}, "evaluator": {}}"""));

    private static BusEvent Dense(string domain, long sequence) => new(LearningTopics.DenseUpdate,
        new DenseUpdate(domain, sequence, 0.8, new DomainMetrics(GainP50: 0.5), Enumerable.Repeat(0.25f * domain.Length, D).ToArray()));

    private static ValueTask Window(MetaLearningAgent agent) =>
        agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 50}""")), default);

    private void AssertFailureLogged(string name) =>
        Assert.Contains(_log.AtLeast(LogLevel.Warning), e => e.Exception?.Message == $"acknowledging {name}: the broker connection is closed");

    [Fact]
    public async Task A_keyed_acknowledgement_that_throws_leaves_the_rounds_other_acknowledgements_and_its_publishes_to_happen()
    {
        await using var agent = await Started();
        await Durable(agent, Pack("a", 1), "a#1", throws: true);
        await Durable(agent, Pack("b", 1), "b#1");

        await Window(agent);

        Assert.Equal(["b#1"], _acknowledged);
        Assert.Equal([LearningTopics.MetaTelemetry, LearningTopics.MetaPriorUpdate, LearningTopics.MetaUpdate], _published);
        AssertFailureLogged("a#1");
    }

    [Fact]
    public async Task A_superseded_packs_acknowledgement_that_throws_leaves_the_acknowledgement_of_the_pack_that_replaced_it_to_be_given()
    {
        await using var agent = await Started();
        await Durable(agent, Pack("a", 1), "a#1", throws: true);
        await Durable(agent, Pack("a", 2), "a#2");

        await Window(agent);

        Assert.Equal(["a#2"], _acknowledged);
        Assert.Contains(LearningTopics.MetaUpdate, _published);
        AssertFailureLogged("a#1");
    }

    [Fact]
    public async Task A_replacing_packs_acknowledgement_that_throws_leaves_the_acknowledgement_of_the_pack_it_replaced_to_be_given()
    {
        // The pending pack holds both deliveries, the newer one's first: its failure must not keep the replaced
        // one's message with the broker.
        await using var agent = await Started();
        await Durable(agent, Pack("a", 1), "a#1");
        await Durable(agent, Pack("a", 2), "a#2", throws: true);

        await Window(agent);

        Assert.Equal(["a#1"], _acknowledged);
        Assert.Contains(LearningTopics.MetaUpdate, _published);
        AssertFailureLogged("a#2");
    }

    [Fact]
    public async Task A_replacing_dense_updates_acknowledgement_that_throws_leaves_the_acknowledgement_of_the_update_it_superseded_to_be_given()
    {
        await using var agent = await Started();
        await Durable(agent, Dense("a", 1), "a#1");
        await Durable(agent, Dense("a", 2), "a#2", throws: true);

        await Window(agent);

        Assert.Equal(["a#1"], _acknowledged);
        Assert.Equal([LearningTopics.MetaDensePrior], _published);
        AssertFailureLogged("a#2");
    }

    [Fact]
    public async Task A_dense_acknowledgement_that_throws_leaves_the_rounds_other_acknowledgements_and_its_publish_to_happen()
    {
        await using var agent = await Started();
        await Durable(agent, Dense("a", 1), "a#1", throws: true);
        await Durable(agent, Dense("bb", 1), "bb#1");

        await Window(agent);

        Assert.Equal(["bb#1"], _acknowledged);
        Assert.Equal([LearningTopics.MetaDensePrior], _published);
        Assert.Equal(1, agent.Dense.Round);
        AssertFailureLogged("a#1");
    }

    [Fact]
    public async Task A_keyed_acknowledgement_that_throws_at_the_stop_leaves_the_others_to_be_given()
    {
        var agent = await Started();
        // Refused (non_finite) while none is pending: held until the stop's save.
        await Durable(agent, Refused("a"), "a#1", throws: true);
        await Durable(agent, Refused("b"), "b#1");

        await agent.StopAsync();

        Assert.Equal(["b#1"], _acknowledged);
        AssertFailureLogged("a#1");
    }
}
