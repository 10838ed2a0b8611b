using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Learning;

/// <summary>The agent's dense lane (DESIGN §10): pending dense updates, the dense round, storage and restart.</summary>
public sealed class DenseLaneTests : IAsyncDisposable
{
    private const int D = 48;
    private static readonly string[] Domains = ["d0", "d1", "d2", "d3", "d4"];

    private readonly string _dir = Directory.CreateTempSubdirectory("dense-lane-").FullName;
    private readonly EventBus _bus = new();
    private readonly List<JsonObject> _published = [];
    private readonly RecordingLogger _log = new();

    /// <summary>Fires every window, no jitter; the design's aggregation defaults (trimmed mean, outlier pass).</summary>
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
    };

    public DenseLaneTests()
    {
        _bus.Subscribe(LearningTopics.MetaDensePrior, (e, _) =>
        {
            lock (_published) _published.Add((JsonObject)e.Payload!);
            return ValueTask.CompletedTask;
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _bus.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class AgentLogger(ILogger inner) : ILogger<MetaLearningAgent>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }

    private MetaStorageManager Storage() => new(new StorageConfig(_dir));

    private async Task<MetaLearningAgent> Started(MetaStorageManager? storage = null)
    {
        var agent = storage is null
            ? new MetaLearningAgent(_bus, Config, logger: new AgentLogger(_log))
            : new MetaLearningAgent(_bus, Config, storage, logger: new AgentLogger(_log));
        await agent.StartAsync();
        return agent;
    }

    private static float[] Vector(int domain, int round, float scale = 1f)
    {
        var v = new float[D];
        for (var c = 0; c < D; c++) v[c] = scale * (float)(Math.Sin(c * 0.37 + domain * 0.11) + 0.05 * round + 0.01 * domain);
        return v;
    }

    private static async Task Send(MetaLearningAgent agent, string domain, long sequence, float[] vector, double confidence = 0.8) =>
        await agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate, new DenseUpdate(domain, sequence, confidence, new DomainMetrics(GainP50: 0.5), vector)), default);

    private async Task Window(MetaLearningAgent agent, double gain = 0.5)
    {
        await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse($$"""{"gain_p50": {{gain}}, "latency_ms": 50}""")), default);
        await _bus.WaitForIdleAsync();
    }

    private static DomainBatch Batch(IReadOnlyList<float[]> rows, double confidence = 0.8)
    {
        var batch = new DomainBatch(rows.Count, D);
        for (var r = 0; r < rows.Count; r++)
        {
            rows[r].CopyTo(batch.Row(r));
            batch.Confidences[r] = confidence;
            batch.Ids[r] = Domains[r];
        }
        return batch;
    }

    [Fact]
    public async Task Dense_rounds_move_the_prior_as_the_aggregator_and_optimizer_do_by_hand()
    {
        await using var agent = await Started();
        using var backend = new CpuBackend();
        var aggregator = new DenseCrossDomainAggregator(backend, Config.Cross);
        var byHand = new DenseReptileOptimizer(D, new OptimizerConfig());

        for (var round = 0; round < 4; round++)
        {
            var rows = Domains.Select((_, i) => Vector(i, round)).ToList();
            // Sent in reverse order: the batch is in domain id order all the same.
            for (var i = Domains.Length - 1; i >= 0; i--) await Send(agent, Domains[i], round + 1, rows[i]);
            await Window(agent);
            aggregator.AggregateInto(Batch(rows), byHand, 0.5, default);
        }

        Assert.Equal(4, agent.Dense.Round);
        Assert.Equal(byHand.Prior, agent.Dense.Optimizer!.Prior);
        Assert.Equal(byHand.Beta, agent.Dense.Optimizer.Beta);
        Assert.Equal(4, _published.Count);
        var last = _published[^1];
        Assert.Equal(4, last["round"]!.GetValue<long>());
        Assert.Equal(D, last["d"]!.GetValue<int>());
        Assert.Equal(5, last["participants"]!.GetValue<int>());
        Assert.Equal(64, last["checksum"]!.GetValue<string>().Length);
        Assert.Equal("trimmed_mean", last["meta"]!["method"]!.GetValue<string>());
        Assert.Empty(agent.Dense.PendingDomains);
    }

    [Fact]
    public async Task A_replayed_sequence_is_ignored()
    {
        await using var agent = await Started();
        foreach (var (d, i) in Domains.Select((d, i) => (d, i))) await Send(agent, d, 1, Vector(i, 0));
        await Window(agent);
        var prior = agent.Dense.Optimizer!.Prior.ToArray();

        // The same sequence again (a broker redelivery), with other values: nothing pending, no round.
        await Send(agent, "d0", 1, Vector(0, 9, 5f));
        Assert.Empty(agent.Dense.PendingDomains);
        await Window(agent);
        Assert.Equal(1, agent.Dense.Round);
        Assert.Equal(prior, agent.Dense.Optimizer.Prior);
        // A pending update is not replaced by an older one either.
        await Send(agent, "d1", 5, Vector(1, 1));
        await Send(agent, "d1", 4, Vector(1, 9, 5f));
        Assert.Equal(["d1"], agent.Dense.PendingDomains);
    }

    [Fact]
    public async Task A_d_mismatch_is_refused_with_a_logged_reason_and_changes_nothing()
    {
        await using var agent = await Started();
        await Send(agent, "d0", 1, Vector(0, 0));
        await Send(agent, "d1", 1, new float[D + 1]);

        Assert.Equal(["d0"], agent.Dense.PendingDomains);
        Assert.Equal(D, agent.Dense.D);
        Assert.Contains(_log.Entries, e => e.Message.Contains("d1", StringComparison.Ordinal) && e.Message.Contains("d_mismatch", StringComparison.Ordinal));
        // The refused domain's sequence was not taken: a right-sized update with the same sequence is accepted.
        await Send(agent, "d1", 1, Vector(1, 0));
        Assert.Equal(["d0", "d1"], agent.Dense.PendingDomains);
    }

    [Fact]
    public async Task A_validator_rule_refuses_a_dense_update_but_max_keys_does_not_apply()
    {
        await using var agent = await Started();
        var large = new float[Config.Validator.MaxKeys * 4];
        await Send(agent, "d0", 1, large);
        var bad = new float[large.Length];
        bad[3] = float.NaN;
        await Send(agent, "d1", 1, bad);
        await Send(agent, "d2", 1, new float[large.Length], confidence: 1.5);

        Assert.Equal(["d0"], agent.Dense.PendingDomains);
        Assert.Contains(_log.Entries, e => e.Message.Contains("d1", StringComparison.Ordinal) && e.Message.Contains("non_finite", StringComparison.Ordinal));
        Assert.Contains(_log.Entries, e => e.Message.Contains("d2", StringComparison.Ordinal) && e.Message.Contains("confidence", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_restart_from_storage_resumes_the_round_the_prior_and_the_sequences()
    {
        float[] prior;
        await using (var agent = await Started(Storage()))
        {
            for (var round = 0; round < 2; round++)
            {
                foreach (var (d, i) in Domains.Select((d, i) => (d, i))) await Send(agent, d, 10 + round, Vector(i, round));
                await Window(agent);
            }
            prior = agent.Dense.Optimizer!.Prior.ToArray();
            Assert.Equal(2, agent.Dense.Round);
        }

        await using var restarted = await Started(Storage());
        Assert.Equal(2, restarted.Dense.Round);
        Assert.Equal(prior, restarted.Dense.Optimizer!.Prior);
        Assert.Equal(11, restarted.Dense.LastAppliedSequences["d3"]);
        // An old sequence redelivered after the restart is ignored; a newer one is taken.
        await Send(restarted, "d3", 11, Vector(3, 9, 5f));
        Assert.Empty(restarted.Dense.PendingDomains);
        foreach (var (d, i) in Domains.Select((d, i) => (d, i))) await Send(restarted, d, 12, Vector(i, 2));
        await Window(restarted);
        Assert.Equal(3, restarted.Dense.Round);
        Assert.Equal(3, _published[^1]["round"]!.GetValue<long>());
        Assert.Equal(12, Storage().LoadDensePrior()!.LastSequences["d0"]);
    }

    [Fact]
    public async Task An_attacker_domain_does_not_drag_the_prior()
    {
        await using var agent = await Started();
        string[] six = [.. Domains, "z_attacker"];
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < Domains.Length; i++) await Send(agent, Domains[i], round + 1, Vector(i, round));
            await Send(agent, "z_attacker", round + 1, Vector(7, round, 1e6f));
            await Window(agent);
        }

        Assert.Equal(["z_attacker"], _published[^1]["meta"]!["outliers"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.All(agent.Dense.Optimizer!.Prior, v => Assert.InRange(v, -2f, 2f));
        Assert.Equal(six.Length - 1, _published[^1]["participants"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_json_update_with_the_binary_vector_is_read_like_the_array()
    {
        await using var agent = await Started();
        var vector = Vector(0, 0);
        var binary = Convert.ToBase64String(DensePriorFile.ToBytes(vector, 0));
        await agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate, JsonNode.Parse(
            $$"""{"domain_id": "d0", "sequence": 1, "confidence": 0.9, "metrics": {"gain_p50": 0.5}, "vector": "{{binary}}"}""")), default);
        var array = new JsonArray([.. vector.Select(v => (JsonNode?)JsonValue.Create((double)v))]);
        await agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate, new JsonObject
        {
            ["domain_id"] = "d1", ["sequence"] = 1, ["confidence"] = 0.9, ["metrics"] = new JsonObject(), ["vector"] = array,
        }), default);

        Assert.Equal(["d0", "d1"], agent.Dense.PendingDomains);
        await Window(agent);
        Assert.Equal(vector, agent.Dense.Optimizer!.Prior);
    }

    [Fact]
    public async Task A_reward_drop_rolls_the_dense_prior_back()
    {
        await using var agent = await Started();
        foreach (var (d, i) in Domains.Select((d, i) => (d, i))) await Send(agent, d, 1, Vector(i, 0));
        await Window(agent, gain: 0.5);
        var afterFirst = agent.Dense.Optimizer!.Prior.ToArray();

        foreach (var (d, i) in Domains.Select((d, i) => (d, i))) await Send(agent, d, 2, Vector(i, 5));
        await Window(agent, gain: -1);

        Assert.Equal(afterFirst, agent.Dense.Optimizer.Prior);
        Assert.Equal(2, agent.Dense.Round);
        Assert.True(_published[^1]["rolled_back"]!.GetValue<bool>());
        Assert.False(_published[0]["rolled_back"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_window_takes_the_updates_published_before_it()
    {
        using var device = new BlockingDeviceTelemetry();
        await using var agent = new MetaLearningAgent(_bus, Config, logger: new AgentLogger(_log), deviceTelemetry: device);
        await agent.StartAsync();

        // The first window samples the device and waits there, so the update and the second window queue up.
        await _bus.PublishAsync(LearningTopics.ProcessingMetrics, new JsonObject { ["gain_p50"] = 0.5 });
        Assert.True(device.Entered.Wait(TimeSpan.FromSeconds(30)));
        foreach (var domain in new[] { "d0", "d1" })
            await _bus.PublishAsync(LearningTopics.DenseUpdate, new DenseUpdate(domain, 1, 0.8, new DomainMetrics(GainP50: 0.5), new float[D]));
        await _bus.PublishAsync(LearningTopics.ProcessingMetrics, new JsonObject { ["gain_p50"] = 0.5 });
        device.Release.Set();
        await _bus.WaitForIdleAsync();

        Assert.Equal(1, agent.Dense.Round);
        Assert.Empty(agent.Dense.PendingDomains); // before: d1, queued behind d0, came after the window
        Assert.Equal(2, _published.Single()["participants"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_first_update_with_sequence_zero_is_taken_and_its_copy_is_ignored()
    {
        // 0 is a sequence like any other: a domain's first dense update is newer than nothing.
        await using var agent = await Started();
        await Send(agent, "d0", 0, Vector(0, 0));
        Assert.Equal(["d0"], agent.Dense.PendingDomains);
        await Window(agent);
        Assert.Equal(1, agent.Dense.Round);
        Assert.Equal(0, agent.Dense.LastAppliedSequences["d0"]);

        await Send(agent, "d0", 0, Vector(0, 9, 5f));
        Assert.Empty(agent.Dense.PendingDomains);
    }

    [Fact]
    public async Task The_dense_step_interpolates_even_when_the_knob_lane_uses_the_delta_rule()
    {
        // DESIGN §10: the pending dense updates go through §4 and "the `interpolate` Reptile step onto the dense
        // prior", whatever update_rule the keyed lane (sections domain and optimizer) uses. A delta step would
        // start the fresh prior at beta x the aggregate instead of adopting it.
        var config = Config.WithUpdateRule(UpdateRule.Delta);
        await using var agent = new MetaLearningAgent(_bus, config, logger: new AgentLogger(_log));
        await agent.StartAsync();
        using var backend = new CpuBackend();
        var aggregator = new DenseCrossDomainAggregator(backend, config.Cross);
        var byHand = new DenseReptileOptimizer(D, config.Optimizer with { UpdateRule = UpdateRule.Interpolate });

        for (var round = 0; round < 2; round++)
        {
            var rows = Domains.Select((_, i) => Vector(i, round)).ToList();
            for (var i = 0; i < Domains.Length; i++) await Send(agent, Domains[i], round + 1, rows[i]);
            await Window(agent);
            aggregator.AggregateInto(Batch(rows), byHand, 0.5, default);
        }

        Assert.Equal(2, agent.Dense.Round);
        Assert.Equal(byHand.Prior, agent.Dense.Optimizer!.Prior);
    }

    [Fact]
    public async Task The_dense_step_size_follows_the_round_drg_flags()
    {
        // DESIGN §10: the dense prior's optimizer is "driven by the same reward and DRG profile as the knob prior"
        // (§8 (a)): latency above the scheduler's target (80 ms) decays beta, free bandwidth grows it.
        await using var agent = await Started();
        async Task Round(int sequence, string window)
        {
            foreach (var (d, i) in Domains.Select((d, i) => (d, i))) await Send(agent, d, sequence, Vector(i, sequence));
            await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse(window)), default);
        }

        await Round(1, """{"gain_p50": 0.5, "latency_ms": 200}""");
        Assert.Equal(0.1 * 0.8, agent.Dense.Optimizer!.Beta, 12);

        await Round(2, """{"gain_p50": 0.5, "latency_ms": 50, "bandwidth_free": true}""");
        Assert.Equal(0.1 * 0.8 * 1.1, agent.Dense.Optimizer.Beta, 12);
    }
}
