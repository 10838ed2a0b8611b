using Meta.Gpu.Runtime;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary><see cref="TelemetryPublisher"/> when a read is cancelled by the source itself, not by the publisher.</summary>
public sealed class TelemetryPublisherCancelledReadTests
{
    // A source whose read gives up with an OperationCanceledException of its own (an HTTP exporter's request timing
    // out throws TaskCanceledException) ended the timer loop: no post ever again, nothing counted or logged, and the
    // stop threw that exception at the host. A failed read is to be counted and the timer to go on, as a failed
    // publish that throws OperationCanceledException already is.
    [Fact]
    public async Task A_read_that_times_out_with_OperationCanceledException_is_counted_and_the_timer_goes_on()
    {
        var time = new FakeTimeProvider();
        var device = new ScriptedMemorySource(0.5);
        await using var bus = new EventBus();
        var logger = new TypedRecordingLogger<TelemetryPublisher>();
        var publisher = new TelemetryPublisher(bus, device, TimeSpan.FromSeconds(1), time, logger);
        await publisher.StartAsync();
        Assert.Equal(1, publisher.Published);

        device.Failure = new TaskCanceledException("the exporter's request timed out");
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => publisher.Failures == 1, () => $"published {publisher.Published}, failures {publisher.Failures}");

        device.Failure = null;
        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => publisher.Published == 2, () => $"published {publisher.Published}, failures {publisher.Failures}");
        Assert.Contains(logger.Entries, e => e.Exception is TaskCanceledException);
        await publisher.DisposeAsync(); // must not throw the source's exception
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"condition not met in 5 s: {state()}");
            await Task.Delay(5);
        }
    }
}
