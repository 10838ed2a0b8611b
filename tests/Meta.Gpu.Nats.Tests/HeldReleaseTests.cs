using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Nats.Tests;

/// <summary>When the keeping loop tells the broker about held work, and when it lets it go (a class of its own so
/// that its slow cases run beside <see cref="HeldDeliveryTests"/>).</summary>
public sealed class HeldReleaseTests
{
    private const string Topic = LearningTopics.PolicyPack;

    /// <summary>A ticket released as abandoned (its first holder, an agent, stopped) was not held again when another,
    /// live subscriber of the topic deferred it afterwards, so the broker delivered it again to that subscriber,
    /// which then held a duplicate copy (second review).</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_live_subscriber_that_holds_after_the_first_holder_left_is_not_delivered_the_message_again(bool firstLeaves)
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { AckWait = TimeSpan.FromSeconds(4) };
        await using var bus = await Buses.ConnectAsync(options);
        var heldByFirst = new List<IDeliveryAcknowledgement>();
        var heldBySecond = new List<IDeliveryAcknowledgement>();
        var first = bus.Subscribe(Topic, (_, _) =>
        {
            lock (heldByFirst) heldByFirst.Add(DeliveryAcknowledgement.Defer()!);
            return ValueTask.CompletedTask;
        });
        var secondCalls = 0;
        using var second = bus.Subscribe(Topic, async (_, _) =>
        {
            // Still busy with the message after the keeping loop's pass at half the ack wait (which releases the
            // first holder's hold once it has left), as a slow check or a queue would keep it.
            if (Interlocked.Increment(ref secondCalls) == 1) await Task.Delay(3000);
            var acknowledgement = DeliveryAcknowledgement.Defer()!;
            lock (heldBySecond) heldBySecond.Add(acknowledgement);
        });
        await bus.WhenSubscribedAsync();
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(Topic, Buses.PolicyPack("d1", 1));
        for (var waited = 0; heldByFirst.Count == 0 && waited < 1000; waited++) await Task.Delay(10);
        lock (heldByFirst) Assert.Single(heldByFirst);
        if (firstLeaves) first.Dispose();

        await Task.Delay(TimeSpan.FromSeconds(13)); // three ack waits and more
        Assert.Equal(0, bus.NatsStats.Redelivered);
        lock (heldBySecond) Assert.Single(heldBySecond);
        if (!firstLeaves) first.Dispose();
    }

    /// <summary>The ack wait runs from the delivery, but the keeping loop, idle, first reported a new hold half the
    /// broker's wait after it: a handler that held the message later than half the ack wait after its delivery had
    /// it delivered again once (second review). It now reports at once when a hold wakes it.</summary>
    [Theory]
    [InlineData(2500)]
    [InlineData(0)]
    public async Task A_message_held_late_after_its_delivery_is_not_delivered_again(int handlerMs)
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { AckWait = TimeSpan.FromSeconds(4) };
        await using var bus = await Buses.ConnectAsync(options);
        var held = new List<IDeliveryAcknowledgement>();
        using var subscription = bus.Subscribe(Topic, async (_, _) =>
        {
            await Task.Delay(handlerMs);
            var acknowledgement = DeliveryAcknowledgement.Defer()!;
            lock (held) held.Add(acknowledgement);
        });
        await bus.WhenSubscribedAsync();
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(Topic, Buses.PolicyPack("d1", 1));
        await Task.Delay(TimeSpan.FromSeconds(13));
        Assert.Equal(0, bus.NatsStats.Redelivered);
        lock (held) Assert.Single(held);
    }
}
