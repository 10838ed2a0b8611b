namespace Meta.Gpu.Nats;

/// <summary>
/// One received durable message fanned out to several local subscribers. When the last of them is done, the
/// message is settled: acknowledged when at least one handler took it in, given back to the broker (nak) when
/// none did (every subscriber left before its turn), so it is neither lost nor applied twice.
/// </summary>
internal sealed class DeliveryTicket(int subscribers, Func<bool, ValueTask> settle)
{
    private int _remaining = subscribers;
    private int _handled;

    public ValueTask SignalAsync(bool handled)
    {
        if (handled) Interlocked.Exchange(ref _handled, 1);
        return Interlocked.Decrement(ref _remaining) == 0 ? settle(Volatile.Read(ref _handled) == 1) : ValueTask.CompletedTask;
    }
}
