using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Governance;

/// <summary>The supervisor on the real in-process bus, where each subscription has its own consumer loop.</summary>
public sealed class MetaSupervisorEventBusTests
{
    [Fact]
    public async Task A_burst_of_windows_is_handled_one_at_a_time_in_publish_order()
    {
        await using var bus = new EventBus();
        var policies = new ConcurrentQueue<JsonObject>();
        var metrics = new ConcurrentQueue<JsonObject>();
        using var _ = bus.Subscribe(GovernanceTopics.MetaPolicyUpdate, (e, _) => { policies.Enqueue((JsonObject)e.Payload!); return ValueTask.CompletedTask; });
        using var __ = bus.Subscribe(GovernanceTopics.MetaMetrics, (e, _) => { metrics.Enqueue((JsonObject)e.Payload!); return ValueTask.CompletedTask; });
        await using var supervisor = new MetaSupervisor(bus);
        supervisor.Start();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        for (var i = 0; i < 200; i++)
            await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.01, ["engine_latency_ms"] = (double)i }, timeout.Token);
        await bus.WaitForIdleAsync(timeout.Token);

        Assert.Equal(Enumerable.Range(1, 200), policies.Select(p => p["rev"]!.GetValue<int>()));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (double)i), metrics.Select(m => m["latency_ms"]!.GetValue<double>()));
        Assert.Equal(200, supervisor.LowAcceptWindows);
        Assert.Equal(0, bus.Stats.Errors);
    }

    [Fact]
    public async Task Stop_waits_for_the_event_in_progress_and_then_nothing_more_is_handled()
    {
        await using var bus = new EventBus();
        var supervisor = new MetaSupervisor(bus);
        supervisor.Start();
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.01 });
        await bus.WaitForIdleAsync();

        await supervisor.StopAsync();
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.01 });
        await bus.WaitForIdleAsync();

        Assert.Equal(1, supervisor.LowAcceptWindows);
        Assert.Equal(1, supervisor.Layer.State.DecisionCount);
        await supervisor.StopAsync(); // idempotent
        Assert.Throws<ObjectDisposedException>(supervisor.Start);
    }

    [Fact]
    public async Task A_window_is_governed_with_the_telemetry_published_before_it()
    {
        await using var bus = new EventBus();
        var metrics = new ConcurrentQueue<JsonObject>();
        using var _ = bus.Subscribe(GovernanceTopics.MetaMetrics, (e, _) => { metrics.Enqueue((JsonObject)e.Payload!); return ValueTask.CompletedTask; });
        using var device = new BlockingDeviceTelemetry();
        await using var supervisor = new MetaSupervisor(bus, deviceTelemetry: device);
        supervisor.Start();

        // The first window samples the device and waits there, so everything after it queues up.
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.3 });
        Assert.True(device.Entered.Wait(TimeSpan.FromSeconds(30)));
        await bus.PublishAsync(GovernanceTopics.Telemetry, new JsonObject { ["bus_latency_ms"] = 10.0 });
        await bus.PublishAsync(GovernanceTopics.Telemetry, new JsonObject { ["vram_util"] = 0.95 });
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.3 });
        device.Release.Set();
        await bus.WaitForIdleAsync();

        var all = metrics.ToArray();
        Assert.Equal(2, all.Length);
        Assert.Equal(0.95, all[1]["vram_util"]!.GetValue<double>()); // not the device's 0.1: the telemetry came first
    }

    [Fact]
    public async Task A_stop_whose_wait_was_cancelled_is_done_by_the_next_and_closes_the_policy_log()
    {
        var path = Path.Combine(Path.GetTempPath(), $"supervisor-stop-{Guid.NewGuid():N}.jsonl");
        try
        {
            await using var bus = new EventBus();
            using var device = new BlockingDeviceTelemetry();
            var supervisor = new MetaSupervisor(bus, deviceTelemetry: device, layerOptions: new MetaIntegrativeLayerOptions { PolicyLogPath = path });
            supervisor.Start();
            await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.3 });
            Assert.True(device.Entered.Wait(TimeSpan.FromSeconds(30)));
            using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => supervisor.StopAsync(cancel.Token));

            device.Release.Set();
            await bus.WaitForIdleAsync();
            await supervisor.StopAsync();

            // The layer is disposed: the policy log is closed (it was left open for good).
            using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
            Assert.Single(File.ReadAllLines(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_window_whose_update_fails_changes_nothing_and_counts_once_when_handled_again()
    {
        await using var bus = new EventBus();
        var log = new FullDiskWriter();
        await using var supervisor = new MetaSupervisor(bus, layerOptions: new MetaIntegrativeLayerOptions { PolicyLog = log });
        var window = new BusEvent(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.01 });

        await Assert.ThrowsAsync<IOException>(() => supervisor.HandleAsync(window, default).AsTask());
        Assert.Equal(0, supervisor.LowAcceptWindows);
        Assert.Null(supervisor.LastProcessingMetrics);

        log.Full = false;
        await supervisor.HandleAsync(window, default);
        Assert.Equal(1, supervisor.LowAcceptWindows);
        Assert.Equal(1, supervisor.Layer.State.DecisionCount);
    }

    [Fact]
    public async Task A_refused_initial_profile_leaves_no_policy_log_open()
    {
        var path = Path.Combine(Path.GetTempPath(), $"supervisor-profile-{Guid.NewGuid():N}.jsonl");
        try
        {
            await using var bus = new EventBus();
            var error = Assert.Throws<InvalidInputException>(() => new MetaSupervisor(bus, initialProfile: ResourceProfile.Initial with { NPaths = 0 },
                layerOptions: new MetaIntegrativeLayerOptions { PolicyLogPath = path }));
            Assert.Contains("n_paths", error.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(path)); // never opened (it was, and stayed open, before)
        }
        finally
        {
            File.Delete(path);
        }
    }
}
