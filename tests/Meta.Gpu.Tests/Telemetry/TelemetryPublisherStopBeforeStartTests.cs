using Meta.Gpu.Runtime;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// A publisher stopped (or disposed) before it was ever started: a host whose shutdown ran before a start it had
/// launched on another task (or that disposed a publisher it never got to start). The stop returned as a no-op and
/// a later start then posted and started a timer that nobody would stop: it ticked for the life of the process,
/// publishing on a bus the host believed it had finished with. A start after a stop is refused, as it is after a
/// stop of a started publisher.
/// </summary>
public sealed class TelemetryPublisherStopBeforeStartTests
{
    [Theory]
    [InlineData("stop")]
    [InlineData("dispose")]
    public async Task A_start_after_a_stop_of_a_never_started_publisher_is_refused_and_posts_nothing(string how)
    {
        await using var bus = new EventBus();
        var time = new FakeTimeProvider();
        var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(0.5), TimeSpan.FromSeconds(1), time);
        if (how == "stop") await publisher.StopAsync();
        else await publisher.DisposeAsync();

        var refused = await Record.ExceptionAsync(() => publisher.StartAsync());

        Assert.NotNull(refused);
        Assert.IsAssignableFrom<InvalidOperationException>(refused);
        Assert.Contains("stopped", refused.Message);
        time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(20);
        Assert.Equal(0, publisher.Published);
        await publisher.DisposeAsync();
    }
}
