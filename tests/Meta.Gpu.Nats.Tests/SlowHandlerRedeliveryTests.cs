using Meta.Gpu.Learning;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// The broker's ack wait runs from the delivery, and the feed told it that a message was still in progress only
/// while a handler held its acknowledgement (deferred). A message whose handler was still running past the ack wait,
/// or that waited in a subscriber's queue behind such a handler (a round holding the agent's lane), was delivered
/// again to the same live process: each copy queued behind the original and handled again after it (a handler that
/// does not recognise the sequence applies it twice), a dense copy fetched its vector again and held it as long
/// (review).
/// </summary>
public sealed class SlowHandlerRedeliveryTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Work_queued_or_handled_past_the_ack_wait_is_handled_once(bool dense)
    {
        await using var server = await NatsServer.StartAsync();
        // Progress goes every half ack wait: 2 s leaves a loaded machine a second of slack. Dense updates of 4096
        // floats travel through the object store with a 1 KB inline limit.
        var options = Buses.Options(server) with { AckWait = TimeSpan.FromSeconds(2), InlineLimitBytes = 1024 };
        var topic = dense ? LearningTopics.DenseUpdate : LearningTopics.PolicyPack;
        await using var aggregator = await Buses.ConnectAsync(options);
        var handled = new List<long>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = aggregator.Subscribe(topic, async (e, _) =>
        {
            lock (handled) handled.Add(BusPayload.AsObject(e.Payload, topic)["sequence"]!.GetValue<long>());
            first.TrySetResult();
            // The first message's handler works on (a long round); the others wait in the queue behind it.
            await release.Task;
        });
        await aggregator.WhenSubscribedAsync().WaitAsync(Buses.Patience);
        await using (var domain = await Buses.ConnectAsync(options))
        {
            for (var s = 1; s <= 3; s++)
                await domain.PublishAsync(topic, dense ? Buses.DenseUpdate("d1", s, s) : Buses.PolicyPack("d1", s));
            await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
        }
        await first.Task.WaitAsync(Buses.Patience);

        await Task.Delay(TimeSpan.FromSeconds(7)); // three ack waits and more
        release.SetResult();
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);

        lock (handled) Assert.Equal([1L, 2L, 3L], handled);
        Assert.Equal(0, aggregator.NatsStats.Redelivered);
        Assert.Equal(3, aggregator.NatsStats.Acknowledged);
        if (dense)
        {
            Assert.Equal(3, aggregator.NatsStats.ObjectsFetched);
            Assert.Equal(0, aggregator.NatsStats.ConsumedCopiesDropped);
        }
    }
}
