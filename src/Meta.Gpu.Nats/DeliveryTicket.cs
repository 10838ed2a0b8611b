namespace Meta.Gpu.Nats;

/// <summary>
/// One received durable message fanned out to several local subscribers: the last subscriber to finish runs the
/// acknowledgement, so the broker forgets the message only once every local handler has taken it in.
/// </summary>
internal sealed class DeliveryTicket(int subscribers, Func<ValueTask> onAllDone)
{
    private int _remaining = subscribers;

    public ValueTask SignalAsync() =>
        Interlocked.Decrement(ref _remaining) == 0 ? onAllDone() : ValueTask.CompletedTask;
}
