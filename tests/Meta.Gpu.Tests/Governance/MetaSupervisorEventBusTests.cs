using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;

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
}
