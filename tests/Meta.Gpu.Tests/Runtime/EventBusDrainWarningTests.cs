using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>The warning of a shutdown whose drain timed out says what was unfinished, as the NATS bus's does
/// ("waiting for 1 delivery queued or being handled"). It read "about 1 deliveries discarded" when nothing was
/// queued and the one unfinished delivery was a running handler, which is cancelled, not discarded.</summary>
public sealed class EventBusDrainWarningTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_drain_that_times_out_on_a_running_handler_says_one_delivery_is_being_handled_not_discarded()
    {
        var log = new RecordingLogger();
        var bus = new EventBus(new EventBusOptions(Logger: log));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = bus.Subscribe("t", async (_, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        });
        await bus.PublishAsync("t", 1);
        await started.Task.WaitAsync(Patience);

        await bus.ShutdownAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(Patience);

        var warning = Assert.Single(log.AtLeast(LogLevel.Warning));
        Assert.Contains("1 delivery queued or being handled", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("1 deliveries discarded", warning.Message, StringComparison.Ordinal);
    }
}
