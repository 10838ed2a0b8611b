using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

public sealed class MetaLearningAgentTests : IAsyncLifetime
{
    /// <summary>Every publish in call order (a real bus delivers each subscription on its own, so the order
    /// across topics is only visible at publish time).</summary>
    private sealed class RecordingBus(IEventBus inner) : IEventBus
    {
        public List<(string Topic, object? Payload)> Published { get; } = [];

        public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
        {
            lock (Published) Published.Add((topic, payload));
            return inner.PublishAsync(topic, payload, cancellationToken);
        }

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(topic, handler);

        public IDisposable Subscribe(IReadOnlyList<string> topics, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(topics, handler);

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => inner.WaitForIdleAsync(cancellationToken);

        public Task ShutdownAsync(TimeSpan timeout) => inner.ShutdownAsync(timeout);

        public EventBusStats Stats => inner.Stats;

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public List<string> OutputTopics()
        {
            lock (Published) return [.. Published.Select(p => p.Topic).Where(t => t is not (LearningTopics.PolicyPack or LearningTopics.ProcessingMetrics))];
        }
    }

    private readonly RecordingBus _bus = new(new EventBus());
    private readonly InMemoryPriorStore _store = new();

    /// <summary>Fires every window, trusts a first observation, weights uniformly, no outlier pass.</summary>
    private static readonly MetaLearningConfig Config = AgentTestConfig.EveryWindow;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _bus.DisposeAsync();

    private async Task Publish(string topic, string json)
    {
        await _bus.PublishAsync(topic, JsonNode.Parse(json));
        await _bus.WaitForIdleAsync();
    }

    private Task Pack(string domain, double tau, double gMin, double stability = 0.9) => Publish(LearningTopics.PolicyPack,
        $$$"""{"domain_id": "{{{domain}}}", "metrics": {"gain_p50": 0.5, "stability_avg": {{{stability}}}}, "controller": {"tau": {{{tau}}}}, "evaluator": {"g_min": {{{gMin}}}}}""");

    private Task Window(double gain, double latency = 50) =>
        Publish(LearningTopics.ProcessingMetrics, $$$"""{"gain_p50": {{{gain}}}, "latency_ms": {{{latency}}}}""");

    private async Task<MetaLearningAgent> Started(MetaLearningConfig? config = null)
    {
        var agent = new MetaLearningAgent(_bus, config ?? Config, _store);
        await agent.StartAsync();
        return agent;
    }

    [Fact]
    public async Task A_round_aggregates_pending_updates_saves_the_prior_and_publishes_in_order()
    {
        await using var agent = await Started();
        await Pack("b", tau: 1.0, gMin: 0.02);
        await Pack("a", tau: 0.8, gMin: 0.01);
        Assert.Equal(["a", "b"], agent.PendingDomains);

        await Window(gain: 1.0);

        Assert.Equal([LearningTopics.MetaTelemetry, LearningTopics.MetaPriorUpdate, LearningTopics.MetaUpdate], _bus.OutputTopics());
        Assert.Empty(agent.PendingDomains);
        var saved = _store.LoadPrior()!;
        // Interpolate: new keys adopt the aggregate (the mean).
        Assert.Equal(0.9, saved["tau"], 6);
        Assert.Equal(0.015, saved["g_min"], 6);

        var telemetry = Assert.IsType<MetaLearningTelemetry>(_bus.Published.Single(p => p.Topic == LearningTopics.MetaTelemetry).Payload);
        Assert.Equal(1.0, telemetry.MetaReward);
        Assert.Equal(2.0, telemetry.MetaUpdateRate); // 2 participants / interval 1
        Assert.Equal(50.0, telemetry.MetaLatencyMs);
        var priorUpdate = (JsonObject)_bus.Published.Single(p => p.Topic == LearningTopics.MetaPriorUpdate).Payload!;
        Assert.Equal(0.9, priorUpdate["controller"]!["tau"]!.GetValue<double>(), 6);
        Assert.Null(priorUpdate["controller"]!["gamma_diversity"]);
        var update = (JsonObject)_bus.Published.Single(p => p.Topic == LearningTopics.MetaUpdate).Payload!;
        Assert.Equal(2, update["meta"]!["participants"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_reward_drop_rolls_back_and_announces_it_between_telemetry_and_the_prior_update()
    {
        await using var agent = await Started();
        await Pack("a", tau: 1.0, gMin: 0.01);
        await Window(gain: 1.0); // EMA 0.3
        var afterFirst = _store.LoadPrior()!;
        _bus.Published.Clear();

        await Pack("a", tau: 0.0, gMin: 0.0);
        await Window(gain: 0.0); // EMA 0.21 - 0 > 0.1: roll back

        Assert.Equal(
            [LearningTopics.MetaTelemetry, LearningTopics.MetaRollbackActive, LearningTopics.MetaPriorUpdate, LearningTopics.MetaUpdate],
            _bus.OutputTopics());
        var notice = (JsonObject)_bus.Published.Single(p => p.Topic == LearningTopics.MetaRollbackActive).Payload!;
        Assert.Equal("optimizer", notice["source"]!.GetValue<string>());
        Assert.Equal(0.0, notice["reward"]!.GetValue<double>());
        Assert.Equal(afterFirst, _store.LoadPrior());
        // The rolled-back step still counts as a round (the dense lane counts its steps the same way).
        Assert.Equal(2, agent.Rounds);
    }

    [Fact]
    public async Task A_start_refused_by_a_non_finite_saved_prior_takes_nothing_and_can_be_retried()
    {
        // The optimizer refuses such a prior when it is built, but the agent had already taken the prior and the
        // sequences and counted itself started: a retry after the store was mended threw "already started".
        _store.SavePrior(new Dictionary<string, double> { ["g_min"] = 0.01, ["tau"] = double.NaN }, new Dictionary<string, long> { ["a"] = 3 });
        await using var agent = new MetaLearningAgent(_bus, Config, _store);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => agent.StartAsync());

        Assert.Contains("\"tau\"", error.Message, StringComparison.Ordinal);
        Assert.Empty(agent.GlobalPrior);
        Assert.Empty(agent.LastAppliedSequences);
        _store.SavePrior(new Dictionary<string, double> { ["g_min"] = 0.01, ["tau"] = 0.9 }, new Dictionary<string, long> { ["a"] = 3 });
        await agent.StartAsync();
        Assert.Equal(0.9, agent.GlobalPrior["tau"]);
        Assert.Equal(0.9, agent.Optimizer.Prior["tau"]);
        Assert.Equal(3, agent.LastAppliedSequences["a"]);
    }

    [Fact]
    public async Task An_invalid_update_changes_nothing_pending()
    {
        await using var agent = await Started(Config with { Validator = ValidatorConfig.Default });
        await Pack("a", tau: 1.0, gMin: 0.01, stability: 0.5); // first observation: confidence 0.05 < 0.1

        Assert.Empty(agent.PendingDomains);
        await Window(gain: 1.0);
        Assert.Empty(_bus.OutputTopics());
        Assert.Null(_store.LoadPrior());
    }

    [Fact]
    public async Task Without_pending_updates_the_scheduler_still_counts_and_resets()
    {
        await using var agent = await Started(Config with { Scheduler = new SchedulerConfig(UpdateIntervalWindows: 2, MinIntervalWindows: 1, Jitter: 0, LatencyHeadroomFactor: 0) });
        await Window(gain: 0.5, latency: 80);
        Assert.Equal(1, agent.Scheduler.WindowsCounted);
        await Window(gain: 0.5, latency: 80);
        Assert.Equal(0, agent.Scheduler.WindowsCounted); // fired with nothing pending: count reset, nothing published
        Assert.Empty(_bus.OutputTopics());
    }

    [Fact]
    public async Task A_malformed_payload_is_refused_before_anything_changes()
    {
        await using var agent = await Started();
        var errors = _bus.Stats.Errors;

        await Publish(LearningTopics.ProcessingMetrics, """{"gain_p50": "high"}""");
        await Publish(LearningTopics.PolicyPack, """{"metrics": {}, "controller": {"tau": 1}}""");
        await Publish(LearningTopics.PolicyPack, """{"domain_id": "a", "controller": {"tau": "x"}}""");
        await Publish(LearningTopics.ProcessingMetrics, """{"gain_p50": "nan"}""");

        Assert.Equal(errors + 4, _bus.Stats.Errors);
        Assert.Equal(0, agent.Scheduler.WindowsCounted);
        Assert.Empty(agent.Learner.Domains);
        Assert.Empty(agent.PendingDomains);
    }

    [Fact]
    public async Task Start_resumes_from_the_saved_prior()
    {
        _store.SavePrior(new Dictionary<string, double> { ["tau"] = 2.0, ["other"] = 5.0 });
        await using var agent = await Started();
        await Pack("a", tau: 1.0, gMin: 0.5);
        await Window(gain: 1.0);

        var saved = _store.LoadPrior()!;
        Assert.Equal(2.0 + 0.1 * (1.0 - 2.0), saved["tau"], 6); // Reptile step from the saved value
        Assert.Equal(5.0, saved["other"]);
        Assert.Equal(0.5, saved["g_min"], 6);
    }

    [Fact]
    public async Task Stop_unsubscribes()
    {
        var agent = await Started();
        await agent.StopAsync();
        await Pack("a", tau: 1.0, gMin: 0.01);
        Assert.Empty(agent.Learner.Domains);
    }

    [Fact]
    public async Task A_pack_with_a_non_finite_metric_is_refused_naming_it_before_the_learner_sees_it()
    {
        await using var agent = await Started();

        var error = await Assert.ThrowsAsync<InvalidInputException>(async () => await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "a", "metrics": {"gain_p50": 0.5, "stability_avg": "nan"}, "controller": {"tau": 1.0}, "evaluator": {}}""")), default));

        Assert.Equal("federation.policy_pack.metrics.stability_avg: nan is not a finite value", error.Message);
        Assert.Empty(agent.Learner.Domains);
        Assert.Empty(agent.PendingDomains);
    }

    [Fact]
    public async Task A_window_with_a_non_finite_latency_is_refused_naming_it_and_runs_no_round()
    {
        await using var agent = await Started();
        await Pack("a", tau: 1.0, gMin: 0.01);

        var error = await Assert.ThrowsAsync<InvalidInputException>(async () => await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics,
            JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": "nan"}""")), default));

        Assert.Equal("processing_metrics.latency_ms: nan is not a finite reading", error.Message);
        Assert.Equal(["a"], agent.PendingDomains);
        Assert.Null(_store.LoadPrior());
    }

    [Fact]
    public async Task A_delivery_that_arrives_after_stop_is_ignored()
    {
        // A bus may hand over an event it took before StopAsync unsubscribed: the stopped agent (its dense lane
        // disposed) must neither run a round nor save or publish.
        var agent = await Started();
        await Pack("a", tau: 1.0, gMin: 0.01);
        await agent.StopAsync();
        // The stop saved "a"'s learner and pending update; nothing after it saves again.
        var saves = _store.Saves;
        _bus.Published.Clear();

        await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}""")), default);
        // As a durable bus delivers a pack: the stopped agent leaves it unacknowledged, for the broker to redeliver
        // to the next consumer, rather than letting the bus acknowledge what nobody took in.
        var delivery = await DurableDelivery.HandleAsync(() => agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "b", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 0.5}, "evaluator": {"g_min": 0.01}}""")), default));

        Assert.Equal(saves, _store.Saves);
        Assert.Empty(_store.LoadPrior()!);
        Assert.Empty(_bus.Published);
        Assert.Equal(["a"], agent.PendingDomains);
        Assert.True(delivery.Deferred);
        Assert.False(delivery.Acknowledged);
    }

    [Fact]
    public async Task With_storage_the_prior_is_saved_to_disk_and_a_new_agent_resumes_from_it()
    {
        using var folder = new TempFolder();
        var storage = new MetaStorageManager(new StorageConfig(folder.Path));
        await using (var agent = new MetaLearningAgent(_bus, Config, storage))
        {
            await agent.StartAsync();
            await Pack("a", tau: 0.8, gMin: 0.01);
            await Window(gain: 1.0);
        }

        Assert.True(File.Exists(storage.PriorPath));
        var saved = new MetaStorageManager(new StorageConfig(folder.Path)).LoadPrior()!;
        Assert.Equal(0.8, saved["tau"], 6);
        var telemetry = Assert.IsType<MetaLearningTelemetry>(_bus.Published.Single(p => p.Topic == LearningTopics.MetaTelemetry).Payload);
        Assert.True(telemetry.MetaStorageMb > 0);

        await using var resumed = new MetaLearningAgent(_bus, Config, new MetaStorageManager(new StorageConfig(folder.Path)));
        await resumed.StartAsync();
        Assert.Equal(saved, resumed.GlobalPrior);
        Assert.Equal(0.8, resumed.Optimizer.Prior["tau"], 6);
    }
}
