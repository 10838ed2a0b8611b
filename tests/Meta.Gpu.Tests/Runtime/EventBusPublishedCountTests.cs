using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>
/// <see cref="EventBusStats.Published"/> counts accepted publish calls (DESIGN §3). A publish that waited for room and
/// was then cancelled, or refused by a shutdown, reached no subscriber and threw to its caller; it was counted all the
/// same (a publish cancelled before it began is not), so Published ran ahead of what the bus had taken.
/// </summary>
public sealed class EventBusPublishedCountTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData("cancelled")]
    [InlineData("refused by the shutdown")]
    public async Task A_waiting_publish_that_reached_no_subscriber_and_threw_is_not_counted_as_published(string how)
    {
        var bus = new EventBus(new EventBusOptions(QueueCapacity: 1));
        using var stuck = new GatedSubscriber(bus, stuck: true);
        try
        {
            await bus.PublishAsync("t", 0);
            await stuck.Seen(0).Task.WaitAsync(Patience);
            await bus.PublishAsync("t", 1).AsTask().WaitAsync(Patience); // fills the queue
            using var cancel = new CancellationTokenSource();
            var waiting = bus.PublishAsync("t", 2, cancel.Token).AsTask();
            Assert.False(waiting.IsCompleted, "the third publish should wait for room");

            if (how == "cancelled")
            {
                await cancel.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Patience));
            }
            else
            {
                await bus.ShutdownAsync(TimeSpan.FromMilliseconds(50)).WaitAsync(Patience);
                await Assert.ThrowsAsync<InvalidOperationException>(() => waiting.WaitAsync(Patience));
            }

            Assert.Equal(2, bus.Stats.Published);
        }
        finally
        {
            stuck.Gate.TrySetResult();
            await bus.DisposeAsync();
        }
    }
}
