using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A handler that took a durable message's acknowledgement over and was then cancelled by a stop whose drain timed
/// out was counted as done with the message twice: once, not handled, by the bus when the cancellation reached it,
/// and once more when the acknowledgement it had handed on was given (before the cancellation or after it). With
/// another subscriber of the topic on the bus, the message was acknowledged at the broker while that subscriber was
/// still working on it, so a crash then lost its work (review).
/// </summary>
public sealed class CancelledHolderTests
{
    private const string Topic = LearningTopics.PolicyPack;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_holder_cancelled_by_the_stop_does_not_acknowledge_a_message_another_subscriber_still_handles(bool acknowledgedBeforeTheStop)
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        await using var bus = await Buses.ConnectAsync(options);
        IDeliveryAcknowledgement? held = null;
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = (LocalSubscriber)bus.Subscribe(Topic, async (_, cancellationToken) =>
        {
            // Handed to whatever saves the effect, which acknowledges once it is saved, whatever the handler does next.
            held = DeliveryAcknowledgement.Defer();
            if (acknowledgedBeforeTheStop) await held!.AcknowledgeAsync();
            holding.TrySetResult();
            // Still at work (a follow-up publish, a wait for room) when the stop stops waiting for it.
            await Task.Delay(Timeout.Infinite, cancellationToken);
        });
        var recording = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recorded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var recorder = bus.Subscribe(Topic, async (_, _) =>
        {
            // A slow handler that finishes what it started, stop or not (a long GPU round).
            recording.TrySetResult();
            await recorded.Task;
        });
        await bus.WhenSubscribedAsync();
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(Topic, Buses.PolicyPack("d1", 1));
        await Task.WhenAll(holding.Task, recording.Task).WaitAsync(Buses.Patience);

        long acknowledgedWhileRecording;
        var stopping = bus.ShutdownAsync(TimeSpan.FromMilliseconds(200));
        try
        {
            // The holder's worker has finished with the message: its cancellation has reached the ticket.
            await holder.Completion.WaitAsync(Buses.Patience);
            if (!acknowledgedBeforeTheStop) await held!.AcknowledgeAsync();
            acknowledgedWhileRecording = bus.NatsStats.Acknowledged;
        }
        finally
        {
            recorded.TrySetResult();
        }
        await stopping.WaitAsync(Buses.Patience);

        Assert.Equal(0, acknowledgedWhileRecording);
        // The recorder took it in: acknowledged once it finished, before the bus left the broker.
        Assert.Equal(1, bus.NatsStats.Acknowledged);
    }
}
