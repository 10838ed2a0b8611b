using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Governance;

/// <summary>Start, stop and dispose of the supervisor, each more than once and in every order a host may call them.</summary>
public sealed class SupervisorLifecycleTests
{
    [Fact]
    public async Task A_second_start_is_refused_and_leaves_one_subscription()
    {
        await using var bus = new EventBus();
        await using var supervisor = new MetaSupervisor(bus);
        supervisor.Start();

        var error = Assert.Throws<InvalidOperationException>(supervisor.Start);

        Assert.Contains("already started", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, bus.Stats.Subscribers);
        await bus.PublishAsync(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.01 });
        await bus.WaitForIdleAsync();
        Assert.Equal(1, supervisor.Layer.State.DecisionCount);
    }

    [Fact]
    public async Task Stop_and_dispose_each_twice_unsubscribe_once_and_throw_nothing()
    {
        await using var bus = new EventBus();
        var supervisor = new MetaSupervisor(bus);
        supervisor.Start();

        await supervisor.StopAsync();
        await supervisor.StopAsync();
        await supervisor.DisposeAsync();
        await supervisor.DisposeAsync();

        Assert.Equal(0, bus.Stats.Subscribers);
        Assert.Throws<ObjectDisposedException>(supervisor.Start);
    }

    [Fact]
    public async Task A_supervisor_never_started_stops_cleanly_and_cannot_start_after()
    {
        await using var bus = new EventBus();
        var supervisor = new MetaSupervisor(bus);

        await supervisor.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(supervisor.Start);
        Assert.Equal(0, bus.Stats.Subscribers);
    }

    [Fact]
    public async Task A_host_may_feed_events_without_starting_it()
    {
        await using var bus = new EventBus();
        await using var supervisor = new MetaSupervisor(bus);

        await supervisor.HandleAsync(new BusEvent(GovernanceTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.01 }), default);

        Assert.Equal(1, supervisor.LowAcceptWindows);
        Assert.Equal(0, bus.Stats.Subscribers);
    }
}
