using Meta.Gpu.Runtime;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// A publisher is started once: a start after its stop (or disposal) is refused. The refusal said "already
/// started" of a publisher that had been stopped, sending a host that restarts its telemetry looking for a second
/// start that never happened.
/// </summary>
public sealed class TelemetryPublisherStartAfterStopTests
{
    [Theory]
    [InlineData("stop")]
    [InlineData("dispose")]
    public async Task A_start_after_a_stop_is_refused_saying_the_publisher_was_stopped(string how)
    {
        await using var bus = new EventBus();
        var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(0.5), TimeSpan.FromSeconds(1), new FakeTimeProvider());
        await publisher.StartAsync();
        if (how == "stop") await publisher.StopAsync();
        else await publisher.DisposeAsync();

        var refused = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => publisher.StartAsync());

        Assert.DoesNotContain("already started", refused.Message);
        Assert.Contains("stopped", refused.Message);
        Assert.Equal(1, publisher.Published);
        await publisher.DisposeAsync();
    }

    [Fact]
    public async Task A_second_start_of_a_running_publisher_is_refused_as_already_started_not_as_stopped()
    {
        await using var bus = new EventBus();
        await using var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(0.5), TimeSpan.FromSeconds(1), new FakeTimeProvider());
        await publisher.StartAsync();

        var refused = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => publisher.StartAsync());

        Assert.Contains("already started", refused.Message);
        Assert.DoesNotContain("stopped", refused.Message);
    }
}
