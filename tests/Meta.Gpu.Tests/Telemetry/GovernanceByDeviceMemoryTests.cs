using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// Device memory drives governance (DESIGN §6, §13): a scripted device whose memory climbs past the vram-high
/// threshold (0.85) and falls back, read by the supervisor, the optimizer's DRG profile and the scheduler, with no
/// memory figure in any payload.
/// </summary>
public sealed class GovernanceByDeviceMemoryTests
{
    /// <summary>Steady, healthy processing metrics with no memory figure: only the device moves.</summary>
    private static JsonObject Window() => new()
    {
        ["accept_rate"] = 0.5,
        ["engine_latency_ms"] = 50.0,
        ["gain_p50"] = 0.01,
        ["stability_avg"] = 0.5,
    };

    private sealed class Recorder
    {
        public ConcurrentQueue<(int Window, string Topic, JsonObject Payload)> Events { get; } = new();

        public int Window { get; set; }

        public IDisposable Listen(IEventBus bus, string topic) =>
            bus.Subscribe(topic, (e, _) =>
            {
                Events.Enqueue((Window, topic, BusPayload.AsObject(e.Payload, topic)));
                return ValueTask.CompletedTask;
            });

        public List<(int Window, JsonObject Payload)> Of(string topic) =>
            Events.Where(e => e.Topic == topic).Select(e => (e.Window, e.Payload)).ToList();
    }

    [Fact]
    public async Task Supervisor_profile_shrinks_and_tiers_switch_off_as_device_memory_climbs_then_all_recover()
    {
        double[] climb = [0.5, 0.7, 0.9, 0.92, 0.95, 0.95, 0.9];
        double[] fall = [0.6, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4];
        var device = new ScriptedMemorySource();
        await using var bus = new EventBus();
        var recorder = new Recorder();
        using var profiles = recorder.Listen(bus, GovernanceTopics.ResourceProfile);
        using var metrics = recorder.Listen(bus, GovernanceTopics.MetaMetrics);
        // Start from the widest sketch so that "sketch_dim to the first entry of sketch_dim_set" shows.
        await using var supervisor = new MetaSupervisor(bus, initialProfile: ResourceProfile.Initial with { SketchDim = 2048 }, deviceTelemetry: device);
        supervisor.Start();

        var states = new List<(double Util, ResourceProfile Profile)>();
        foreach (var util in climb.Concat(fall))
        {
            device.Util = util;
            await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, Window());
            await bus.WaitForIdleAsync();
            states.Add((util, supervisor.Profile));
            recorder.Window++;
        }

        // The supervisor used the device's figure (no telemetry payload was published).
        var used = recorder.Of(GovernanceTopics.MetaMetrics).Select(m => m.Payload["vram_util"]!.GetValue<double>()).ToList();
        Assert.Equal(climb.Concat(fall).ToList(), used.Select(u => Math.Round(u, 6)).ToList());

        // Before the threshold: tiers on, the sketch untouched.
        Assert.All(states.Take(2), s => Assert.True(s.Profile is { Tier2Enabled: true, Tier3TopK: 5, SketchDim: 2048 }));

        // First window above 0.85: the hint shrinks n_paths and sets the first sketch_dim; tier3 goes off first.
        var firstHigh = states[2];
        Assert.True(firstHigh.Profile.NPaths < states[1].Profile.NPaths);
        Assert.Equal(512, firstHigh.Profile.SketchDim);
        Assert.Equal(0, firstHigh.Profile.Tier3TopK);
        Assert.True(firstHigh.Profile.Tier2Enabled);
        // Next window still high: tier2 goes off too, and n_paths keeps shrinking while memory stays high.
        Assert.False(states[3].Profile.Tier2Enabled);
        for (var w = 3; w < climb.Length; w++)
            Assert.True(states[w].Profile.NPaths < states[w - 1].Profile.NPaths, $"window {w}: n_paths {states[w].Profile.NPaths}");
        var smallest = states[climb.Length - 1].Profile.NPaths;

        // Every published profile during the climb agrees with the supervisor's (the bus carried the change).
        var published = recorder.Of(GovernanceTopics.ResourceProfile);
        Assert.Contains(published, p => p.Window == 2 && p.Payload["sketch_dim"]!.GetValue<int>() == 512 && p.Payload["tier3_topk"]!.GetValue<int>() == 0);
        Assert.Contains(published, p => p.Window == 3 && !p.Payload["tier2_enabled"]!.GetValue<bool>());

        // Memory falls: both tiers come back once their cooldowns (5 cycles) run out, and n_paths grows again.
        var last = states[^1].Profile;
        Assert.Equal(5, last.Tier3TopK);
        Assert.True(last.Tier2Enabled);
        Assert.True(last.NPaths > smallest, $"n_paths {last.NPaths} did not grow back from {smallest}");
        var tier3Back = states.FindIndex(climb.Length, s => s.Profile.Tier3TopK == 5);
        var tier2Back = states.FindIndex(climb.Length, s => s.Profile.Tier2Enabled);
        Assert.InRange(tier3Back, climb.Length, states.Count - 1);
        Assert.InRange(tier2Back, climb.Length, states.Count - 1);
        Assert.Contains(published, p => p.Window == tier2Back && p.Payload["tier2_enabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Supervisor_prefers_the_telemetry_topic_figure_and_reads_the_device_only_when_it_has_none()
    {
        var device = new ScriptedMemorySource(0.95);
        await using var bus = new EventBus();
        var recorder = new Recorder();
        using var metrics = recorder.Listen(bus, GovernanceTopics.MetaMetrics);
        await using var supervisor = new MetaSupervisor(bus, deviceTelemetry: device);
        supervisor.Start();

        async Task<double> UpdateAsync()
        {
            await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, Window());
            await bus.WaitForIdleAsync();
            return recorder.Of(GovernanceTopics.MetaMetrics)[^1].Payload["vram_util"]!.GetValue<double>();
        }

        await bus.PublishAsync(GovernanceTopics.Telemetry, new JsonObject { ["vram_used_gb"] = 8.0, ["vram_total_gb"] = 80.0 });
        await bus.WaitForIdleAsync();
        Assert.Equal(0.1, await UpdateAsync(), 12);
        var readsWithFigure = device.Reads;

        // A telemetry payload without memory figures replaces the last one (no merging): the device is read.
        await bus.PublishAsync(GovernanceTopics.Telemetry, new JsonObject { ["bus_latency_ms"] = 3.0 });
        await bus.WaitForIdleAsync();
        Assert.Equal(0.95, await UpdateAsync(), 6);
        Assert.Equal(0, readsWithFigure);
    }

    [Fact]
    public async Task Supervisor_reads_zero_and_logs_when_the_device_source_fails()
    {
        var device = new ScriptedMemorySource(0.95) { Failure = new InvalidOperationException("driver gone") };
        await using var bus = new EventBus();
        var recorder = new Recorder();
        using var metrics = recorder.Listen(bus, GovernanceTopics.MetaMetrics);
        var logger = new TypedRecordingLogger<MetaSupervisor>();
        await using var supervisor = new MetaSupervisor(bus, deviceTelemetry: device, logger: logger);
        supervisor.Start();
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, Window());
        await bus.WaitForIdleAsync();
        Assert.Equal(0.0, recorder.Of(GovernanceTopics.MetaMetrics)[0].Payload["vram_util"]!.GetValue<double>());
        Assert.Contains(logger.Entries, e => e.Exception?.Message == "driver gone");
    }

    [Fact]
    public async Task A_training_loop_gets_governance_by_device_memory_from_the_publisher_alone()
    {
        var device = new ScriptedMemorySource(0.9);
        var time = new FakeTimeProvider();
        await using var bus = new EventBus();
        var recorder = new Recorder();
        using var metrics = recorder.Listen(bus, GovernanceTopics.MetaMetrics);
        using var profiles = recorder.Listen(bus, GovernanceTopics.ResourceProfile);
        // The supervisor has no source of its own: the figures travel on the telemetry topic.
        await using var supervisor = new MetaSupervisor(bus);
        supervisor.Start();
        await using var publisher = new TelemetryPublisher(bus, device, TimeSpan.FromSeconds(1), time);
        await publisher.StartAsync();
        await bus.WaitForIdleAsync();

        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, Window());
        await bus.WaitForIdleAsync();
        Assert.Equal(0.9, recorder.Of(GovernanceTopics.MetaMetrics)[^1].Payload["vram_util"]!.GetValue<double>(), 6);
        Assert.Equal(0, supervisor.Profile.Tier3TopK);

        device.Util = 0.3;
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => publisher.Published >= 2);
        await bus.WaitForIdleAsync();
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, Window());
        await bus.WaitForIdleAsync();
        Assert.Equal(0.3, recorder.Of(GovernanceTopics.MetaMetrics)[^1].Payload["vram_util"]!.GetValue<double>(), 6);
    }

    [Fact]
    public void Optimizer_beta_decays_while_the_device_is_above_the_threshold_and_recovers_after()
    {
        var device = new ScriptedMemorySource();
        var optimizer = new OnlineReptileOptimizer();
        var init = optimizer.Config.BetaInit;
        // The loop reports free bandwidth throughout and never a memory figure; only the device changes.
        var payload = new JsonObject { ["bandwidth_free"] = true, ["latency_ms"] = 40.0 };
        var betas = new List<double>();
        // One window at 0.5, eight above the threshold, twenty after memory fell.
        foreach (var util in new[] { 0.5 }.Concat(Enumerable.Repeat(0.9, 8)).Concat(Enumerable.Repeat(0.4, 20)))
        {
            device.Util = util;
            var drg = DrgProfile.FromJson(payload) with { VramHigh = VramHighReading.From(payload, device) };
            optimizer.Apply([1f], ["tau"], 0.1, drg);
            betas.Add(optimizer.Beta);
        }

        Assert.Equal(init * 1.1, betas[0], 12); // free bandwidth, memory fine: grows
        for (var i = 2; i <= 8; i++) Assert.True(betas[i] <= betas[i - 1], $"step {i}: beta {betas[i]} after {betas[i - 1]}");
        Assert.Equal(optimizer.Config.BetaFloor, betas[8], 12); // decayed to the floor under memory pressure
        Assert.True(betas[9] > betas[8]); // memory fell: grows again
        Assert.Equal(optimizer.Config.BetaMax, betas[^1], 12);
    }

    [Fact]
    public void Optimizer_profile_keeps_the_payloads_own_vram_high()
    {
        var device = new ScriptedMemorySource(0.95);
        Assert.False(VramHighReading.From(new JsonObject { ["vram_high"] = false }, device));
        Assert.False(VramHighReading.From(new JsonObject { ["vram_high"] = 0.0 }, device));
        Assert.True(VramHighReading.From(new JsonObject { ["vram_high"] = 1.0 }, new ScriptedMemorySource(0.1)));
        Assert.True(VramHighReading.From(new JsonObject { ["vram_high"] = null }, device));
        Assert.True(VramHighReading.From(new JsonObject(), device));
        Assert.False(VramHighReading.From(new JsonObject(), null));
        Assert.Equal(0, new ScriptedMemorySource().Reads);
        Assert.Throws<InvalidInputException>(() => VramHighReading.From(new JsonObject { ["vram_high"] = "yes" }, device));
    }

    [Fact]
    public void A_failing_source_reads_as_not_vram_high_and_is_logged()
    {
        var logger = new Support.RecordingLogger();
        var device = new ScriptedMemorySource(0.95) { Failure = new InvalidOperationException("gone") };
        Assert.False(VramHighReading.From(new JsonObject(), device, logger));
        Assert.Contains(logger.Entries, e => e.Exception?.Message == "gone");
    }

    [Fact]
    public void Scheduler_interval_follows_device_pressure_when_the_payload_has_no_vram_high()
    {
        // Latency in the comfortable band (between 0.7 x target and the target): only vram_high moves the
        // interval (§9 rule 1: x interval_decay_factor, to min_interval_windows).
        var config = SchedulerConfig.Default with { Jitter = 0 };
        var device = new ScriptedMemorySource(0.5);
        var withDevice = new MetaScheduler(config) { DeviceTelemetry = device };
        var without = new MetaScheduler(config);
        var payload = new JsonObject { ["latency_ms"] = 70.0 };

        var intervals = new List<int>();
        foreach (var util in new[] { 0.5, 0.5, 0.9, 0.9, 0.9, 0.9, 0.4, 0.4 })
        {
            device.Util = util;
            withDevice.RecordWindow();
            without.RecordWindow();
            withDevice.ShouldUpdate(payload);
            without.ShouldUpdate(payload);
            intervals.Add(withDevice.IntervalWindows);
            Assert.Equal(config.UpdateIntervalWindows, without.IntervalWindows);
        }
        Assert.Equal([10, 10, 7, 4, 3, 3, 3, 3], intervals);

        // The payload's own flag wins over the device.
        var flagged = new MetaScheduler(config) { DeviceTelemetry = new ScriptedMemorySource(0.95) };
        flagged.ShouldUpdate(new JsonObject { ["latency_ms"] = 70.0, ["vram_high"] = false });
        Assert.Equal(10, flagged.IntervalWindows);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 10 s");
            await Task.Delay(5);
        }
    }
}
