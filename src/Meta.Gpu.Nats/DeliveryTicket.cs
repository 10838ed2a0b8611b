namespace Meta.Gpu.Nats;

/// <summary>
/// One received durable message fanned out to several local subscribers. When the last of them is done, the
/// message is settled: acknowledged when at least one handler took it in, given back to the broker (nak) when
/// none did (every subscriber left before its turn), so it is neither lost nor applied twice. A handler that
/// deferred its acknowledgement (<see cref="Runtime.DeliveryAcknowledgement"/>) is done when it acknowledges.
/// </summary>
internal sealed class DeliveryTicket(int subscribers, Func<bool, ValueTask> settle, TopicFeed feed)
{
    private int _remaining = subscribers;
    private int _handled;
    private int _deferred;

    /// <summary>A handler returned and kept the acknowledgement for later: the message is handled as far as
    /// WaitForIdle is concerned, though the broker still counts it unacknowledged.</summary>
    public void MarkDeferred()
    {
        if (Interlocked.Exchange(ref _deferred, 1) == 0) feed.DeferredChanged(+1);
    }

    public async ValueTask SignalAsync(bool handled)
    {
        if (handled) Interlocked.Exchange(ref _handled, 1);
        if (Interlocked.Decrement(ref _remaining) != 0) return;
        await settle(Volatile.Read(ref _handled) == 1).ConfigureAwait(false);
        if (Volatile.Read(ref _deferred) == 1) feed.DeferredChanged(-1);
    }
}
