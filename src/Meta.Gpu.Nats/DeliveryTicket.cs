namespace Meta.Gpu.Nats;

/// <summary>
/// One received durable message fanned out to several local subscribers. When the last of them is done, the
/// message is settled: acknowledged when at least one handler took it in, given back to the broker (nak) when
/// none did (every subscriber left before its turn), so it is neither lost nor applied twice. A handler that
/// deferred its acknowledgement (<see cref="Runtime.DeliveryAcknowledgement"/>) is done when it acknowledges.
/// </summary>
internal sealed class DeliveryTicket(int subscribers, Func<bool, ValueTask> settle, TopicFeed feed)
{
    private const int NotDeferred = 0, Deferred = 1, Settled = 2;

    private int _remaining = subscribers;
    private int _handled;
    private int _deferral = NotDeferred;

    /// <summary>A handler returned and kept the acknowledgement for later: the message is handled as far as
    /// WaitForIdle is concerned, though the broker still counts it unacknowledged. Nothing to count once the
    /// message is settled: a handler that deferred and then acknowledged before returning settled it already, and
    /// a count taken then would never be given back (WaitForIdle would then overlook one unacknowledged message
    /// for good).</summary>
    public void MarkDeferred()
    {
        if (Interlocked.CompareExchange(ref _deferral, Deferred, NotDeferred) == NotDeferred) feed.DeferredChanged(+1);
    }

    public async ValueTask SignalAsync(bool handled)
    {
        if (handled) Interlocked.Exchange(ref _handled, 1);
        if (Interlocked.Decrement(ref _remaining) != 0) return;
        await settle(Volatile.Read(ref _handled) == 1).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _deferral, Settled) == Deferred) feed.DeferredChanged(-1);
    }
}
