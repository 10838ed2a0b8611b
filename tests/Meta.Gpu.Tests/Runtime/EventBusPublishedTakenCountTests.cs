using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>
/// <see cref="EventBusStats.Published"/> counts accepted publish calls (DESIGN §3). A waiting publish cancelled after a
/// subscriber took it was accepted (that subscriber handles it), so it stays counted, whether the subscriber took it at
/// once (its queue had room) or after waiting for room; only one that reached no subscriber is taken back
/// (<see cref="EventBusPublishedCountTests"/>).
/// </summary>
public sealed class EventBusPublishedTakenCountTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData("at once")]
    [InlineData("after waiting for room")]
    public async Task A_waiting_publish_cancelled_after_a_subscriber_took_it_stays_counted_as_published(string how)
    {
        var bus = new EventBus(new EventBusOptions(QueueCapacity: 1));
        // The second subscriber is stuck on 0 with 1 in its queue; the first is too, or takes everything at once.
        using var first = new GatedSubscriber(bus, stuck: how != "at once");
        using var second = new GatedSubscriber(bus, stuck: true);
        try
        {
            await bus.PublishAsync("t", 0);
            await first.Seen(0).Task.WaitAsync(Patience);
            await second.Seen(0).Task.WaitAsync(Patience);
            await bus.PublishAsync("t", 1).AsTask().WaitAsync(Patience);
            if (how == "at once") await first.Seen(1).Task.WaitAsync(Patience); // its queue has room again

            using var cancel = new CancellationTokenSource();
            var waiting = bus.PublishAsync("t", 2, cancel.Token).AsTask();
            if (how != "at once")
            {
                Assert.False(waiting.IsCompleted, "the publish should wait for room in the first queue");
                first.Gate.SetResult(); // room: the first takes 2, and the publish waits on the second
            }
            await first.Seen(2).Task.WaitAsync(Patience);
            Assert.False(waiting.IsCompleted, "the publish should wait for room in the second queue");

            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Patience));

            // 0, 1 and 2: the first subscriber handled 2.
            Assert.Equal(3, bus.Stats.Published);
        }
        finally
        {
            first.Gate.TrySetResult();
            second.Gate.TrySetResult();
            await bus.DisposeAsync();
        }
    }
}
