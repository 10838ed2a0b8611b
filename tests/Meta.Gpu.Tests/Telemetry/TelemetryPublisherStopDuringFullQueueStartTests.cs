using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// A stop cancels a timer post that waits for room on a full queue (backpressure), but the start's first post was
/// posted with the start's token only: a stop while it waited hung for as long as the supervisor's queue stayed full,
/// so a host that stops the publisher before it shuts its bus down (whose drain limit would cancel the stuck handler)
/// never got there.
/// </summary>
public sealed class TelemetryPublisherStopDuringFullQueueStartTests
{
    [Theory]
    [InlineData("stop")]
    [InlineData("dispose")]
    public async Task A_stop_while_the_first_post_waits_for_room_ends_it_instead_of_waiting_for_the_subscriber(string how)
    {
        var bus = new EventBus(new EventBusOptions(QueueCapacity: 1));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A supervisor stuck on a long round that does not look at its token.
        using var stuck = bus.Subscribe(GovernanceTopics.Telemetry, async (_, _) =>
        {
            started.TrySetResult();
            await gate.Task;
        });
        try
        {
            await bus.PublishAsync(GovernanceTopics.Telemetry, 0);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await bus.PublishAsync(GovernanceTopics.Telemetry, 1).AsTask().WaitAsync(TimeSpan.FromSeconds(30)); // fills the queue
            var publisher = new TelemetryPublisher(bus, new ScriptedMemorySource(0.5), TimeSpan.FromSeconds(1), new FakeTimeProvider());
            var start = publisher.StartAsync();
            await Task.Delay(50);
            Assert.False(start.IsCompleted, "the first post should be waiting for room");

            var stop = how == "stop" ? publisher.StopAsync() : publisher.DisposeAsync().AsTask();

            var finished = await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(5)));
            Assert.True(finished == stop, $"{how} was still waiting, 5 s later, for the first post, which waits for a queue the stuck subscriber never empties");
            await start.WaitAsync(TimeSpan.FromSeconds(5)); // stopped: not an error of the start
            Assert.Equal(0, publisher.Published);
        }
        finally
        {
            gate.TrySetResult();
            await bus.DisposeAsync();
        }
    }
}
