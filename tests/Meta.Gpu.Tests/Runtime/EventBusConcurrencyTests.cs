using System.Collections.Concurrent;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Runtime;

/// <summary>
/// A subscription to several topics "sees their events one at a time in the order they reach it": with many threads
/// publishing to its topics at once (a small queue, so publishers wait on backpressure), its handler is never entered
/// twice at once, loses nothing, and sees each publisher's events in that publisher's order.
/// </summary>
public sealed class EventBusConcurrencyTests
{
    [Fact]
    public async Task A_several_topic_subscriber_fed_from_many_threads_handles_one_event_at_a_time_in_each_publisher_order()
    {
        await using var bus = new EventBus(new EventBusOptions(QueueCapacity: 8));
        const int publishers = 6;
        const int perPublisher = 1500;
        string[] topics = ["a", "b", "c"];
        var inside = 0;
        var overlaps = 0;
        var seen = new int[publishers];
        var outOfOrder = new ConcurrentQueue<string>();
        using var subscription = bus.Subscribe(topics, async (e, _) =>
        {
            if (Interlocked.Increment(ref inside) != 1) Interlocked.Increment(ref overlaps);
            var (publisher, index) = ((int, int))e.Payload!;
            if (seen[publisher] != index) outOfOrder.Enqueue($"publisher {publisher}: got {index} after {seen[publisher] - 1}");
            seen[publisher] = index + 1;
            if (index % 97 == 0) await Task.Yield();
            Interlocked.Decrement(ref inside);
        });
        var start = new Barrier(publishers);
        var tasks = Enumerable.Range(0, publishers).Select(p => Task.Factory.StartNew(async () =>
        {
            start.SignalAndWait();
            for (var i = 0; i < perPublisher; i++) await bus.PublishAsync(topics[(p + i) % topics.Length], (p, i));
        }, TaskCreationOptions.LongRunning).Unwrap()).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        await bus.WaitForIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, overlaps);
        Assert.Empty(outOfOrder);
        Assert.All(seen, count => Assert.Equal(perPublisher, count));
        Assert.Equal(publishers * perPublisher, bus.Stats.Delivered);
    }

    [Fact]
    public async Task A_subscription_disposed_while_publishers_race_gets_at_most_the_delivery_in_hand_afterwards()
    {
        // "its handler is not called after Dispose returns except for the one call that may be running then": the
        // loop may have taken one delivery off the queue as Dispose ran, and that one call may begin just after
        // Dispose returned (about one race in ten here); none after it.
        await using var bus = new EventBus(new EventBusOptions(QueueCapacity: 64));
        var moreThanOne = 0;
        using var stop = new CancellationTokenSource();
        var publisher = Task.Factory.StartNew(async () =>
        {
            while (!stop.IsCancellationRequested) await bus.PublishAsync("t", 1);
        }, TaskCreationOptions.LongRunning).Unwrap();
        for (var attempt = 0; attempt < 2000; attempt++)
        {
            var returned = 0;
            var entered = 0;
            var late = 0;
            var subscription = bus.Subscribe("t", (_, _) =>
            {
                if (Volatile.Read(ref returned) == 1 && Interlocked.Increment(ref late) > 1) Interlocked.Increment(ref moreThanOne);
                Interlocked.Increment(ref entered);
                return ValueTask.CompletedTask;
            });
            while (Volatile.Read(ref entered) == 0) Thread.Yield();
            subscription.Dispose();
            Volatile.Write(ref returned, 1);
        }
        stop.Cancel();
        await publisher;
        Assert.Equal(0, moreThanOne);
    }
}
