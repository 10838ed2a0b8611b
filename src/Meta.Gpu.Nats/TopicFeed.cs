using System.Collections.Concurrent;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Nats;

/// <summary>
/// What brings one topic's messages from the broker into this process and fans them out to the local
/// subscribers of the topic, in arrival order. One per subscribed topic; started by the first subscriber and
/// stopped when the last one leaves.
/// </summary>
internal abstract class TopicFeed
{
    private readonly Lock _gate = new();
    private LocalSubscriber[] _subscribers = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private int _localInFlight;
    private int _roomWaiters;
    private TaskCompletionSource _room = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected TopicFeed(NatsEventBus bus, string topic)
    {
        Bus = bus;
        Topic = topic;
        Subject = NatsSubjects.Subject(bus.Options.SubjectPrefix, topic);
    }

    protected NatsEventBus Bus { get; }

    public string Topic { get; }

    public string Subject { get; }

    /// <summary>Completes once the broker will route new messages of the topic to this feed.</summary>
    public Task Ready { get; private set; } = Task.CompletedTask;

    /// <summary>Whether opening failed (<see cref="Ready"/> faulted or was cancelled): nothing comes through it.</summary>
    public bool Failed => Ready.IsFaulted || Ready.IsCanceled;

    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    protected CancellationToken Stopping => _stop.Token;

    public void Start()
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Ready = ready.Task;
        _loop = Task.Run(async () =>
        {
            try
            {
                await OpenAsync(_stop.Token).ConfigureAwait(false);
                ready.TrySetResult();
            }
            catch (Exception e)
            {
                ready.TrySetException(e);
                return;
            }
            await RunAsync(_stop.Token).ConfigureAwait(false);
        });
    }

    public LocalSubscriber Add(Func<BusEvent, CancellationToken, ValueTask> handler, int capacity)
    {
        var subscriber = new LocalSubscriber(Bus, this, handler, capacity);
        lock (_gate) _subscribers = [.. _subscribers, subscriber];
        return subscriber;
    }

    /// <summary>Removes a subscriber; true when none are left.</summary>
    public bool Remove(LocalSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => !ReferenceEquals(s, subscriber))];
            PulseRoom();
            return _subscribers.Length == 0;
        }
    }

    public IReadOnlyList<LocalSubscriber> Subscribers => Volatile.Read(ref _subscribers);

    /// <summary>Hands one event to every local subscriber; <paramref name="settle"/> runs once all of them
    /// have finished with it (null for fire-and-forget topics); <paramref name="progress"/> tells the broker the
    /// message is still in progress while a handler holds its acknowledgement. False when there was nobody to hand
    /// it to.</summary>
    protected async ValueTask<bool> DispatchAsync(BusEvent busEvent, Func<bool, ValueTask>? settle, CancellationToken cancellationToken, Func<CancellationToken, ValueTask>? progress = null)
    {
        var subscribers = Volatile.Read(ref _subscribers);
        if (subscribers.Length == 0) return false;
        var ticket = settle is null ? null : new DeliveryTicket(subscribers.Length, settle, this, progress);
        if (ticket is not null)
        {
            // The broker's ack wait runs from the delivery, not from the handler's start: a message queued behind a
            // slow handler, or whose own handler outlasts the wait, is reported in progress like a held one.
            _working.TryAdd(ticket, 0);
            WakeProgressReports();
        }
        foreach (var subscriber in subscribers)
            if (!await subscriber.EnqueueAsync(new Delivery(busEvent, ticket), cancellationToken).ConfigureAwait(false) && ticket is not null)
            {
                await ticket.SignalAsync(handled: false).ConfigureAwait(false);
                ticket.HandlerDone();
            }
        return true;
    }

    private readonly ConcurrentDictionary<DeliveryTicket, byte> _working = new();

    /// <summary>Durable messages handed to local subscribers that some subscriber still has queued or is handling.</summary>
    protected int Working => _working.Count;

    /// <summary>The messages counted by <see cref="Working"/>.</summary>
    protected IEnumerable<DeliveryTicket> WorkingMessages => _working.Keys;

    protected bool IsWorking(DeliveryTicket ticket) => _working.ContainsKey(ticket);

    public void WorkDone(DeliveryTicket ticket) => _working.TryRemove(ticket, out _);

    private readonly ConcurrentDictionary<DeliveryTicket, byte> _held = new();

    /// <summary>Durable messages every local handler has finished with, held unacknowledged by a handler that
    /// deferred the acknowledgement.</summary>
    public int Deferred => _held.Count;

    /// <summary>The messages counted by <see cref="Deferred"/>.</summary>
    protected IEnumerable<DeliveryTicket> HeldMessages => _held.Keys;

    private TaskCompletionSource _workArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Hold(DeliveryTicket ticket)
    {
        _held.TryAdd(ticket, 0);
        WakeProgressReports();
    }

    /// <summary>Completes the task <see cref="NextWorkAsync"/> handed out: a message is now held or being worked on.</summary>
    private void WakeProgressReports() => Volatile.Read(ref _workArrived).TrySetResult();

    public void Release(DeliveryTicket ticket) => _held.TryRemove(ticket, out _);

    /// <summary>Completes at the next <see cref="Hold"/> or durable dispatch (at once when one came since the last call completed).</summary>
    protected Task NextWorkAsync()
    {
        var arrived = Volatile.Read(ref _workArrived);
        if (arrived.Task.IsCompleted)
        {
            var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.CompareExchange(ref _workArrived, next, arrived);
            arrived = Volatile.Read(ref _workArrived);
        }
        return arrived.Task;
    }

    /// <summary>Messages this bus published on the topic that have not come back from the broker yet.</summary>
    public int LocalInFlight => Volatile.Read(ref _localInFlight);

    public void LocalSent() => Interlocked.Increment(ref _localInFlight);

    public void LocalReturned()
    {
        // Never below zero: a message sent before a lost connection and counted off by ConnectionLost may still
        // arrive (it waited in the client's buffer).
        var current = Volatile.Read(ref _localInFlight);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _localInFlight, current - 1, current);
            if (seen == current) break;
            current = seen;
        }
        PulseRoom();
    }

    /// <summary>The connection dropped: what this process sent before is not waited for any more.</summary>
    public void ConnectionLost()
    {
        Interlocked.Exchange(ref _localInFlight, 0);
        PulseRoom();
    }

    /// <summary>
    /// Backpressure across the broker: a publisher of this process waits while a local subscriber's queue, plus
    /// what this process has published and the broker has not handed back yet, is at capacity. (The broker
    /// itself never makes a publisher wait, so without this a fast publisher would only fill buffers.)
    /// </summary>
    public async ValueTask WaitForRoomAsync(int capacity, CancellationToken cancellationToken)
    {
        while (!HasRoom(capacity))
        {
            Interlocked.Increment(ref _roomWaiters);
            try
            {
                var signal = Volatile.Read(ref _room).Task;
                if (HasRoom(capacity)) return;
                await signal.WaitAsync(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Re-check: a message dropped by the client never comes back to pulse us.
            }
            finally
            {
                Interlocked.Decrement(ref _roomWaiters);
            }
        }
    }

    private bool HasRoom(int capacity)
    {
        var inFlight = Volatile.Read(ref _localInFlight);
        foreach (var subscriber in Volatile.Read(ref _subscribers))
            // A closed subscriber (the bus stopped) takes nothing more: its queue, which may stay full behind a
            // handler that ignores the stop, holds nobody back.
            if (!subscriber.IsDisposed && subscriber.Queued + inFlight >= capacity) return false;
        return true;
    }

    /// <summary>Wakes publishers waiting for room (a delivery left a queue, or a subscriber left or closed).</summary>
    public void PulseRoom()
    {
        if (Volatile.Read(ref _roomWaiters) == 0) return;
        Interlocked.Exchange(ref _room, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Subscribes at the broker.</summary>
    protected abstract Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Receives until <paramref name="cancellationToken"/> fires.</summary>
    protected abstract Task RunAsync(CancellationToken cancellationToken);

    /// <summary>Messages received from the broker but not yet handed to subscribers.</summary>
    public abstract int Buffered { get; }

    /// <summary>Null when the broker holds nothing more for this feed (durable: nothing pending or unacknowledged but
    /// what handlers hold on purpose); otherwise what it still holds, in words, for the drain's warning.</summary>
    public abstract ValueTask<string?> BrokerBacklogAsync(CancellationToken cancellationToken);

    protected abstract ValueTask CloseAsync();

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping is the point.
            }
        }
        await CloseAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
