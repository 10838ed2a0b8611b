namespace Meta.Gpu.Nats;

/// <summary>
/// One received durable message fanned out to several local subscribers. When the last of them is done, the
/// message is settled: acknowledged when at least one handler took it in, given back to the broker (nak) when
/// none did (every subscriber left before its turn), so it is neither lost nor applied twice. A handler that
/// deferred its acknowledgement (<see cref="Runtime.DeliveryAcknowledgement"/>) is done when it acknowledges.
/// While a subscriber's handler has it queued or running, and while a handler holds its acknowledgement, the feed
/// tells the broker now and then that the message is still in progress (<see cref="ReportProgressAsync"/>), so that
/// it is not delivered again while this process works on it or holds it.
/// </summary>
internal sealed class DeliveryTicket(int subscribers, Func<bool, ValueTask> settle, TopicFeed feed, Func<CancellationToken, ValueTask>? progress = null)
{
    private const int NotDeferred = 0, Deferred = 1, Settled = 2;

    private int _remaining = subscribers;
    private int _working = subscribers;
    private int _handled;
    private int _deferral = NotDeferred;

    private readonly List<LocalSubscriber> _holders = new(1);

    /// <summary>A handler returned and kept the acknowledgement for later: the message is handled as far as
    /// WaitForIdle is concerned, though the broker still counts it unacknowledged, and the feed holds it (counts it
    /// and reports its progress). Nothing is held once the message is settled: a handler that deferred and then
    /// acknowledged before returning settled it already, and a hold taken then would never be released (WaitForIdle
    /// would then overlook one unacknowledged message for good).</summary>
    public void MarkDeferred(LocalSubscriber holder)
    {
        lock (_holders)
        {
            _holders.Add(holder);
            if (Volatile.Read(ref _deferral) == Settled) return;
            // Held (again, when an abandoned holder's release came first) before the state says so.
            feed.Hold(this);
        }
        Interlocked.CompareExchange(ref _deferral, Deferred, NotDeferred);
        if (Volatile.Read(ref _deferral) == Settled) feed.Release(this);
    }

    /// <summary>Releases the ticket when every handler that held the message has left (an agent stopped before its
    /// round): the message is no longer anybody's work here, so the broker should deliver it again after the ack
    /// wait. Atomic with a holder's <see cref="MarkDeferred"/>, which holds it again.</summary>
    public bool ReleaseIfAbandoned()
    {
        lock (_holders)
        {
            if (_holders.Count == 0 || !_holders.TrueForAll(h => h.IsDisposed)) return false;
            feed.Release(this);
            return true;
        }
    }

    /// <summary>Tells the broker the queued, handled or held message is still being worked on (resets its ack wait).</summary>
    public ValueTask ReportProgressAsync(CancellationToken cancellationToken) =>
        progress is null || Volatile.Read(ref _deferral) == Settled ? ValueTask.CompletedTask : progress(cancellationToken);

    /// <summary>One subscriber is done with the message as far as its queue and handler go (handled, deferred, or
    /// discarded): once none has it queued or running, the feed stops counting it as work in progress (a hold,
    /// taken before this, keeps it reported).</summary>
    public void HandlerDone()
    {
        if (Interlocked.Decrement(ref _working) == 0) feed.WorkDone(this);
    }

    public async ValueTask SignalAsync(bool handled)
    {
        if (handled) Interlocked.Exchange(ref _handled, 1);
        if (Interlocked.Decrement(ref _remaining) != 0) return;
        try
        {
            await settle(Volatile.Read(ref _handled) == 1).ConfigureAwait(false);
        }
        finally
        {
            if (Interlocked.Exchange(ref _deferral, Settled) == Deferred) feed.Release(this);
        }
    }
}
