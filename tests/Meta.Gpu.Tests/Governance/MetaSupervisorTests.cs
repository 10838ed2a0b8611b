using System.Text.Json.Nodes;
using Meta.Gpu.Conformance;
using Meta.Gpu.Conformance.Replayers;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;
using Meta.Gpu.Telemetry;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Governance;

public sealed class MetaSupervisorTests : IAsyncLifetime
{
    private readonly SequentialTestBus _bus = new();
    private readonly List<BusEvent> _published = [];
    private MetaSupervisor _supervisor = null!;

    public ValueTask InitializeAsync()
    {
        foreach (var topic in new[] { GovernanceTopics.MetaPolicyUpdate, GovernanceTopics.ResourceProfile, GovernanceTopics.MetaMetrics })
            _bus.Subscribe(topic, (e, _) => { _published.Add(e); return ValueTask.CompletedTask; });
        _supervisor = Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _supervisor.DisposeAsync();

    private MetaSupervisor Start(IDeviceTelemetrySource? device = null, ResourceProfile? profile = null)
    {
        var supervisor = new MetaSupervisor(_bus, initialProfile: profile, deviceTelemetry: device);
        supervisor.Start();
        return supervisor;
    }

    private ValueTask Publish(string topic, string json) => _bus.PublishAsync(topic, JsonNode.Parse(json));

    private static JsonObject Payload(BusEvent e) => (JsonObject)e.Payload!;

    private IEnumerable<JsonObject> Metrics => _published.Where(e => e.Topic == GovernanceTopics.MetaMetrics).Select(Payload);

    [Fact]
    public async Task An_update_publishes_policy_profile_then_metrics()
    {
        // Low memory and comfortable latency: a grow hint, so the profile changes (resamples 8 -> 12).
        await Publish("telemetry", """{"vram_util": 0.3}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "stability_avg": 0.5, "engine_latency_ms": 50}""");

        Assert.Equal(["meta_policy_update", "resource_profile", "meta_metrics"], _published.Select(e => e.Topic).ToArray());
        Assert.Equal(1, Payload(_published[0])["rev"]!.GetValue<int>());
        Assert.Equal(12, Payload(_published[1])["resamples"]!.GetValue<int>());
        Assert.Equal(1, Payload(_published[2])["meta_decision_count"]!.GetValue<int>());
        Assert.Equal(12, _supervisor.Profile.Resamples);
    }

    /// <summary>A bus whose publishes of one topic fail while <see cref="Refusing"/> (a broker away, a cancelled stop).</summary>
    private sealed class RefusingBus(IEventBus inner, string topic) : IEventBus
    {
        public bool Refusing { get; set; }

        public ValueTask PublishAsync(string t, object? payload, CancellationToken cancellationToken = default) =>
            Refusing && t == topic ? throw new InvalidOperationException($"{t}: the bus refused it") : inner.PublishAsync(t, payload, cancellationToken);

        public IDisposable Subscribe(string t, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(t, handler);

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => inner.WaitForIdleAsync(cancellationToken);

        public Task ShutdownAsync(TimeSpan timeout) => inner.ShutdownAsync(timeout);

        public EventBusStats Stats => inner.Stats;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_profile_change_whose_announcement_failed_is_announced_with_the_next_update()
    {
        // The profile moved (resamples 8 -> 12) but its resource_profile never went out; the next update compared
        // against the moved profile, saw no change, and the consumers kept the old profile for good.
        var bus = new RefusingBus(_bus, GovernanceTopics.ResourceProfile);
        await using var supervisor = new MetaSupervisor(bus);
        await supervisor.HandleAsync(new BusEvent("telemetry", JsonNode.Parse("""{"vram_util": 0.3}""")), CancellationToken.None);
        bus.Refusing = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => supervisor.HandleAsync(
            new BusEvent("processing_metrics", JsonNode.Parse("""{"accept_rate": 0.3, "stability_avg": 0.5, "engine_latency_ms": 50}""")), CancellationToken.None).AsTask());
        Assert.Equal(12, supervisor.Profile.Resamples);
        bus.Refusing = false;
        _published.Clear();

        // No hint this time: the profile stays, and the one never announced goes out now.
        await supervisor.HandleAsync(new BusEvent("telemetry", JsonNode.Parse("""{"vram_util": 0.6}""")), CancellationToken.None);
        await supervisor.HandleAsync(new BusEvent("processing_metrics", JsonNode.Parse("""{"accept_rate": 0.3, "engine_latency_ms": 80}""")), CancellationToken.None);

        Assert.Equal(["meta_policy_update", "resource_profile", "meta_metrics"], _published.Select(e => e.Topic).ToArray());
        Assert.Equal(12, Payload(_published[1])["resamples"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_knob_change_whose_policy_update_failed_is_announced_with_the_next_update()
    {
        // Under load tier3_topk goes 5 -> 0 and that meta_policy_update is refused. Each update names only its own
        // call's changes, so the next one (under load again: tier3_topk stays 0) left it out and the consumers
        // kept 5 for good.
        var bus = new RefusingBus(_bus, GovernanceTopics.MetaPolicyUpdate);
        await using var supervisor = new MetaSupervisor(bus);
        bus.Refusing = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => supervisor.HandleAsync(
            new BusEvent("processing_metrics", JsonNode.Parse("""{"accept_rate": 0.3, "stability_avg": 0.5, "engine_latency_ms": 300}""")), CancellationToken.None).AsTask());
        Assert.Equal(0, supervisor.Layer.State.Knobs.Tier3TopK);
        bus.Refusing = false;
        _published.Clear();

        await supervisor.HandleAsync(
            new BusEvent("processing_metrics", JsonNode.Parse("""{"accept_rate": 0.3, "stability_avg": 0.5, "engine_latency_ms": 300}""")), CancellationToken.None);

        var policy = Payload(Assert.Single(_published, e => e.Topic == GovernanceTopics.MetaPolicyUpdate));
        Assert.Equal(0, policy["operators"]?["tier3_topk"]?.GetValue<int>());
    }

    [Fact]
    public async Task The_profile_is_published_only_when_it_changed()
    {
        await Publish("telemetry", """{"vram_util": 0.6}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "engine_latency_ms": 80}""");

        Assert.Equal(["meta_policy_update", "meta_metrics"], _published.Select(e => e.Topic).ToArray());
    }

    [Fact]
    public async Task Telemetry_only_is_kept_and_publishes_nothing()
    {
        await Publish("telemetry", """{"vram_util": 0.6}""");

        Assert.Empty(_published);
    }

    [Fact]
    public async Task A_rollback_of_the_agent_skips_the_next_two_updates_but_low_accept_windows_keep_counting()
    {
        await Publish("meta_rollback_active", "{}");
        await Publish("processing_metrics", """{"accept_rate": 0.01}""");
        await Publish("processing_metrics", """{"accept_rate": 0.02}""");
        Assert.Empty(_published);
        Assert.Equal(2, _supervisor.LowAcceptWindows);

        await Publish("processing_metrics", """{"accept_rate": 0.01}""");

        Assert.Equal(3, _supervisor.LowAcceptWindows);
        Assert.Equal(1, Payload(_published[0])["rev"]!.GetValue<int>());
    }

    [Fact]
    public async Task Low_accept_windows_reset_on_a_window_at_or_above_accept_very_low()
    {
        await Publish("processing_metrics", "{}"); // missing accept_rate = 0
        await Publish("processing_metrics", """{"accept_rate": 0.01}""");
        Assert.Equal(2, _supervisor.LowAcceptWindows);

        await Publish("processing_metrics", """{"accept_rate": 0.03}""");

        Assert.Equal(0, _supervisor.LowAcceptWindows);
    }

    [Theory]
    [InlineData("""{"gpu_memory_util": 0.7, "vram_used_gb": 10, "vram_total_gb": 80, "vram_util": 0.1}""", 0.7)]
    [InlineData("""{"vram_used_gb": 20, "vram_total_gb": 80, "vram_util": 0.1}""", 0.25)]
    [InlineData("""{"vram_used_gb": 100, "vram_total_gb": 80}""", 1.0)]
    [InlineData("""{"vram_used_gb": -20, "vram_total_gb": 80, "vram_util": 0.1}""", 0.0)] // clipped at 0, not vram_util
    [InlineData("""{"vram_total_gb": 80, "vram_util": 0.4}""", 0.0)] // a missing vram_used_gb reads as 0
    [InlineData("""{"vram_used_gb": 20, "vram_total_gb": 0, "vram_util": 0.1}""", 0.1)]
    [InlineData("""{"bus_latency_ms": 30}""", 0.0)]
    public async Task Vram_util_comes_from_the_telemetry_payload(string telemetry, double expected)
    {
        await Publish("telemetry", telemetry);
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");

        Assert.Equal(expected, Metrics.Single()["vram_util"]!.GetValue<double>(), 12);
    }

    [Fact]
    public async Task A_new_telemetry_payload_replaces_the_old_one_without_merging()
    {
        await Publish("telemetry", """{"vram_util": 0.7, "bus_latency_ms": 90}""");
        await Publish("telemetry", """{"bus_latency_ms": 40}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");

        var metrics = Metrics.Single();
        Assert.Equal(0.0, metrics["vram_util"]!.GetValue<double>());
        Assert.Equal(40.0, metrics["latency_ms"]!.GetValue<double>());
    }

    [Fact]
    public async Task Latency_is_the_engine_latency_else_the_bus_latency_else_zero()
    {
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");
        await Publish("telemetry", """{"bus_latency_ms": 70}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "engine_latency_ms": 55, "latency_ms": 999}""");

        Assert.Equal([0.0, 70.0, 55.0], Metrics.Select(m => m["latency_ms"]!.GetValue<double>()).ToArray());
    }

    [Fact]
    public async Task Gain_prev_is_the_last_gain_seen_so_a_rising_gain_exploits()
    {
        await Publish("processing_metrics", """{"accept_rate": 0.3, "stability_avg": 0.9, "gain_p50": 0.1}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "stability_avg": 0.9}"""); // no gain: remembered one stays
        await Publish("processing_metrics", """{"accept_rate": 0.3, "stability_avg": 0.9, "gain_p50": 0.2}""");

        Assert.Equal([0.9, 0.9, 0.8], Metrics.Select(m => m["tau"]!.GetValue<double>()).ToArray());
    }

    [Fact]
    public async Task A_window_without_gain_p50_leaves_none_remembered_so_the_first_gain_is_its_own_previous()
    {
        // DESIGN §6: "remember this payload's gain_p50 (when present)"; until one is seen, gain_prev is the payload's own.
        await Publish("processing_metrics", """{"accept_rate": 0.3, "stability_avg": 0.9}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "stability_avg": 0.9, "gain_p50": 0.2}""");

        Assert.Equal([0.9, 0.9], Metrics.Select(m => m["tau"]!.GetValue<double>()).ToArray());
    }

    [Fact]
    public async Task The_device_source_is_read_only_when_telemetry_has_no_memory_figure()
    {
        await _supervisor.StopAsync();
        _supervisor = Start(new FixedDeviceSource(DeviceMemorySample.FromBytes(60, 80)));

        await Publish("processing_metrics", """{"accept_rate": 0.3}""");
        await Publish("telemetry", """{"gpu_memory_util": 0.2}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");

        Assert.Equal([0.75, 0.2], Metrics.Select(m => m["vram_util"]!.GetValue<double>()).ToArray());
    }

    [Fact]
    public async Task A_failing_device_source_reads_as_zero()
    {
        await _supervisor.StopAsync();
        _supervisor = Start(new FailingDeviceSource());

        await Publish("processing_metrics", """{"accept_rate": 0.3}""");

        Assert.Equal(0.0, Metrics.Single()["vram_util"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_device_figure_that_is_not_finite_reads_as_zero_and_is_said_once_per_broken_run()
    {
        // It read as 0 without a word: a broken driver reading looked like an idle device.
        var reading = double.NaN;
        var log = new Meta.Gpu.Tests.Telemetry.TypedRecordingLogger<MetaSupervisor>();
        await using var supervisor = new MetaSupervisor(_bus, deviceTelemetry: new VaryingDeviceSource(() => reading), logger: log);
        supervisor.Start();
        await _supervisor.StopAsync();

        await Publish("processing_metrics", """{"accept_rate": 0.3}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");
        reading = 0.5;
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");
        reading = double.PositiveInfinity;
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");

        Assert.Equal([0.0, 0.0, 0.5, 0.0], Metrics.Select(m => m["vram_util"]!.GetValue<double>()).ToArray());
        var warnings = log.Entries.Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Message).ToArray();
        Assert.Equal(2, warnings.Length);
        Assert.Contains("device telemetry source varying gave vram_util nan; read as 0", warnings[0], StringComparison.Ordinal);
        Assert.Contains("gave vram_util inf;", warnings[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_payload_is_rejected_before_any_state_changes()
    {
        await Publish("processing_metrics", """{"accept_rate": 0.01}""");
        _published.Clear();

        await Publish("processing_metrics", """{"accept_rate": "low"}""");
        await Publish("telemetry", """{"vram_util": "full"}""");

        Assert.Empty(_published);
        Assert.Equal(1, _supervisor.LowAcceptWindows);
        Assert.Equal(2, _bus.HandlerErrors.Count);
        Assert.All(_bus.HandlerErrors, e => Assert.IsType<InvalidInputException>(e));
        Assert.StartsWith("processing_metrics.accept_rate:", _bus.HandlerErrors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_finite_figure_is_refused_when_it_arrives_and_the_last_good_one_is_kept()
    {
        await Publish("telemetry", """{"gpu_memory_util": 0.2}""");
        await Publish("processing_metrics", """{"accept_rate": 0.01}""");
        _published.Clear();

        await Publish("telemetry", """{"gpu_memory_util": "nan"}""");
        await Publish("processing_metrics", """{"accept_rate": "nan"}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "engine_latency_ms": "inf"}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "ci_width_avg": "nan"}""");

        Assert.Empty(_published);
        Assert.Equal(1, _supervisor.LowAcceptWindows);
        Assert.Equal(4, _bus.HandlerErrors.Count);
        Assert.All(_bus.HandlerErrors, e => Assert.IsType<InvalidInputException>(e));
        Assert.StartsWith("telemetry: vram_util nan", _bus.HandlerErrors[0].Message, StringComparison.Ordinal);
        Assert.Equal("processing_metrics.accept_rate: nan is not a finite reading", _bus.HandlerErrors[1].Message);
        // Named as sent: the supervisor copies them into the layer's latency_ms and ci_width.
        Assert.Equal("processing_metrics.engine_latency_ms: inf is not a finite reading", _bus.HandlerErrors[2].Message);
        Assert.Equal("processing_metrics.ci_width_avg: nan is not a finite reading", _bus.HandlerErrors[3].Message);

        await Publish("processing_metrics", """{"accept_rate": 0.3}""");
        var metrics = Metrics.Single();
        Assert.Equal(0.2, metrics["vram_util"]!.GetValue<double>());
        Assert.True(double.IsFinite(metrics["meta_reward_avg"]!.GetValue<double>()));
    }

    [Theory]
    [InlineData("""{"vram_used_gb": "inf", "vram_total_gb": 80}""", "telemetry.vram_used_gb: inf is not a finite reading")]
    [InlineData("""{"vram_used_gb": "nan", "vram_total_gb": 80}""", "telemetry.vram_used_gb: nan is not a finite reading")]
    [InlineData("""{"vram_used_gb": 20, "vram_total_gb": "inf"}""", "telemetry.vram_total_gb: inf is not a finite reading")]
    [InlineData("""{"vram_used_gb": 20, "vram_total_gb": "nan", "vram_util": 0.9}""", "telemetry.vram_total_gb: nan is not a finite reading")]
    public async Task A_non_finite_memory_figure_is_refused_naming_it_and_the_last_good_one_is_kept(string telemetry, string message)
    {
        // An infinite vram_used_gb read as a full device (tiers shed, a shrink hint), an infinite total as an empty
        // one, and a NaN total fell through to vram_util: a broken reading steered the knobs as a plausible one.
        await Publish("telemetry", """{"gpu_memory_util": 0.2}""");
        await Publish("telemetry", telemetry);
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");

        var error = Assert.Single(_bus.HandlerErrors);
        Assert.IsType<InvalidInputException>(error);
        Assert.Equal(message, error.Message);
        Assert.Equal(0.2, Metrics.Single()["vram_util"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_non_finite_bus_latency_is_refused_when_it_arrives_and_the_last_telemetry_is_kept()
    {
        // Taken in, it replaced the good payload, and every window after failed on latency_ms instead of governing.
        await Publish("telemetry", """{"gpu_memory_util": 0.2, "bus_latency_ms": 30}""");
        await Publish("telemetry", """{"gpu_memory_util": 0.7, "bus_latency_ms": "inf"}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3}""");

        var error = Assert.Single(_bus.HandlerErrors);
        Assert.Equal("telemetry.bus_latency_ms: inf is not a finite reading", error.Message);
        var metrics = Metrics.Single();
        Assert.Equal(0.2, metrics["vram_util"]!.GetValue<double>());
        Assert.Equal(30.0, metrics["latency_ms"]!.GetValue<double>());
    }

    [Fact]
    public void The_initial_profile_is_capped_at_n_paths_max_D6()
    {
        Assert.Equal(128, _supervisor.Profile.NPaths);
        Assert.Equal(ResourceProfile.Initial with { NPaths = 128 }, _supervisor.Profile);
    }

    [Fact]
    public async Task A_grow_hint_at_the_cap_does_not_shrink_n_paths_D6()
    {
        await Publish("telemetry", """{"vram_util": 0.3}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "engine_latency_ms": 50}""");

        Assert.Equal(128, _supervisor.Profile.NPaths);
    }

    [Fact]
    public async Task A_delivery_that_arrives_after_stop_is_ignored_and_left_unacknowledged()
    {
        await _supervisor.StopAsync();

        var delivery = await DurableDelivery.HandleAsync(() =>
            _supervisor.HandleAsync(new BusEvent(GovernanceTopics.ProcessingMetrics, JsonNode.Parse("""{"accept_rate": 0.01}""")), default));

        Assert.Empty(_published);
        Assert.Equal(0, _supervisor.LowAcceptWindows);
        Assert.True(delivery.Deferred);
        Assert.False(delivery.Acknowledged);
    }

    [Fact]
    public async Task Stopping_unsubscribes()
    {
        await _supervisor.StopAsync();

        await Publish("processing_metrics", """{"accept_rate": 0.3}""");

        Assert.Empty(_published);
        Assert.Equal(0, _bus.Stats.Subscribers - 3); // only the test's own subscriptions remain
    }

    [Theory]
    [InlineData("supervisor_0.json")]
    [InlineData("supervisor_1.json")]
    public async Task Reference_traces_replay_on_a_sequential_bus(string file)
    {
        var replayer = new SupervisorReplayer(() => new SequentialTestBus());
        var trace = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference", file)))!.AsObject();
        var settings = new JsonObject { ["initial_profile"] = trace["initial_profile"]!.DeepClone() };

        await using var session = replayer.Open(settings);
        var steps = trace["steps"]!.AsArray();
        for (var i = 0; i < steps.Count; i++)
        {
            var actual = await session.StepAsync(steps[i]!["input"]!.AsObject());
            var mismatches = TraceComparer.Compare(steps[i]!["expected"], actual);
            Assert.True(mismatches.Count == 0, $"step {i}: {string.Join("; ", mismatches)}");
        }
    }

    private sealed class FixedDeviceSource(DeviceMemorySample sample) : IDeviceTelemetrySource
    {
        public string Device => "fixed";

        public DeviceMemorySample Sample() => sample;
    }

    private sealed class VaryingDeviceSource(Func<double> util) : IDeviceTelemetrySource
    {
        public string Device => "varying";

        public DeviceMemorySample Sample() => new(0, 0, util(), false);
    }

    private sealed class FailingDeviceSource : IDeviceTelemetrySource
    {
        public string Device => "failing";

        public DeviceMemorySample Sample() => throw new InvalidOperationException("driver gone");
    }
}
