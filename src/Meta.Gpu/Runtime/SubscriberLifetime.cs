namespace Meta.Gpu.Runtime;

/// <summary>
/// The lifetime of a bus subscriber that handles its events one at a time (the learning agent, the supervisor):
/// its subscriptions, the gate a handler holds, and a stop that turns deliveries away at once, waits for the event
/// under way and releases the owner's resources once.
/// </summary>
/// <remarks>One piece for both: the agent's copy of this stop had kept an older form, in which a stop whose wait
/// was cancelled left it marked stopped, and the next stop returned at once while a round still ran.</remarks>
internal sealed class SubscriberLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<IDisposable> _subscriptions = [];
    private bool _stopCompleted;

    /// <summary>True from the start of <see cref="StopAsync"/>: nothing more is handled.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Keeps <paramref name="subscription"/> for the stop to dispose. When a stop has begun, it took the list
    /// before this subscription was made, which the bus would otherwise keep for good: the subscription is disposed at
    /// once and the start refused as one after a stop is.</summary>
    /// <exception cref="ObjectDisposedException">A stop has begun (named after <paramref name="owner"/>).</exception>
    public void Add(IDisposable subscription, object owner)
    {
        lock (_subscriptions)
        {
            if (!Stopped)
            {
                _subscriptions.Add(subscription);
                return;
            }
        }
        subscription.Dispose();
        ObjectDisposedException.ThrowIf(true, owner);
    }

    /// <summary>Waits for the event under way, then holds the gate; false after a stop, the gate released. A delivery
    /// the bus took before the stop unsubscribed may still get here: it is not handled (not an error), and on a
    /// topic the bus keeps durably it stays unacknowledged, for the broker to redeliver to the next consumer.</summary>
    public async ValueTask<bool> EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!Stopped) return true;
        DeliveryAcknowledgement.Defer();
        _gate.Release();
        return false;
    }

    /// <summary>Holds the gate for the owner's start (no event is handled while it restores its saved state); false
    /// after a stop, the gate released.</summary>
    public bool EnterForStart()
    {
        _gate.Wait();
        if (!Stopped) return true;
        _gate.Release();
        return false;
    }

    /// <summary>Releases the gate an <see cref="EnterAsync"/> or <see cref="EnterForStart"/> that returned true took.</summary>
    public void Exit() => _gate.Release();

    /// <summary>Unsubscribes, waits for the event under way, then runs <paramref name="release"/> once. Idempotent;
    /// a stop whose wait was cancelled is done again by the next call.</summary>
    public async Task StopAsync(Action release, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(release);
        if (_stopCompleted) return;
        Stopped = true;
        // Taken and cleared at once: two stops at once enumerated one list, and the second threw "Collection was
        // modified" when the first cleared it.
        IDisposable[] subscriptions;
        lock (_subscriptions)
        {
            subscriptions = [.. _subscriptions];
            _subscriptions.Clear();
        }
        foreach (var subscription in subscriptions) subscription.Dispose();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stopCompleted) return;
            release();
            _stopCompleted = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
