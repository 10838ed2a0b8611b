using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Runtime;

/// <summary>
/// The in-process event bus (DESIGN §3): one bounded queue (a <see cref="Channel{T}"/>) and one consumer loop per
/// subscriber, so delivery is FIFO per subscriber and a slow subscriber slows only itself and its publishers.
/// </summary>
/// <remarks>
/// <para><b>Backpressure.</b> A publish from outside the bus waits while a subscriber's queue holds
/// <see cref="EventBusOptions.QueueCapacity"/> deliveries; nothing is dropped. A publish made by a handler of this
/// bus (a nested publish, recognised through the handler's async context, including work the handler starts) never
/// waits: when the target queue is full the delivery is parked behind it (in FIFO order) beyond the bound. Waiting
/// there could deadlock — a handler publishing to its own full queue, or two handlers feeding each other's full
/// queues — and the bound exists to stop outside producers from flooding the bus, which still holds.</para>
/// <para><b>Idle.</b> Every delivery is counted from the moment it is published until its handler has finished;
/// <see cref="WaitForIdleAsync"/> completes when that count is zero. A handler publishes before it finishes, so
/// nested deliveries are always covered. Under an endless stream of outside publishes it completes at the first
/// moment the bus is idle. Called from inside a handler of this bus while it runs (work it awaits included) it would
/// wait for itself, so it throws <see cref="InvalidOperationException"/> instead of deadlocking (as does
/// <see cref="ShutdownAsync"/>); work a handler started and left running may call either once the handler returned.</para>
/// <para><b>Several topics.</b> A subscription to several topics (<see cref="Subscribe(IReadOnlyList{string}, Func{BusEvent, CancellationToken, ValueTask})"/>)
/// has one queue for all of them, so its handler sees their events in publish order (a supervisor that must not
/// handle a window before the telemetry published ahead of it); separate subscriptions each keep their own order
/// only.</para>
/// <para><b>Unsubscribe.</b> Disposing a subscription stops new deliveries at once; deliveries already queued for it
/// are discarded (not delivered, not counted as delivered). At most one handler call overlaps or follows
/// <c>Dispose</c>: the one running then, or the one whose delivery the loop had already taken off the queue, which may
/// start just after <c>Dispose</c> returns.</para>
/// <para><b>Shutdown.</b> <see cref="ShutdownAsync"/> refuses new publishes from outside at once, lets queued
/// deliveries (and what their handlers publish) drain up to the timeout, then refuses every publish with
/// <see cref="InvalidOperationException"/>. When the drain times out, the handlers' cancellation token is cancelled,
/// what is still queued is discarded and a warning gives the count; it does not throw.</para>
/// <para><b>Stats.</b> Published counts accepted publish calls; Delivered counts handler calls that finished,
/// whether they succeeded or threw; Errors counts the calls that threw; Topics and Subscribers are current.</para>
/// </remarks>
public sealed partial class EventBus : IEventBus
{
    private const int Running = 0;
    private const int Draining = 1;
    private const int Stopped = 2;

    /// <summary>The handler call that runs the current code (or started it): set per delivery, so that work a handler
    /// left running can tell that its own handler has returned.</summary>
    private static readonly AsyncLocal<HandlerCall?> CurrentCall = new();

    private readonly EventBusOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, Subscription[]> _topics = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private const int MinLoopsSweep = 16;
    private int _loopsSweepAt = MinLoopsSweep;
    private int _subscriberCount;
    private int _state = Running;
    private Task? _shutdown;

    private long _published;
    private long _delivered;
    private long _errors;
    private long _pending;
    private TaskCompletionSource? _idleSignal;

    public EventBus() : this(EventBusOptions.Default) { }

    public EventBus(EventBusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Validated();
        _logger = options.Logger ?? NullLogger.Instance;
    }

    public EventBusStats Stats => new(
        Interlocked.Read(ref _published),
        Interlocked.Read(ref _delivered),
        Interlocked.Read(ref _errors),
        _topics.Count,
        Volatile.Read(ref _subscriberCount));

    private bool InsideHandler => CurrentCall.Value is { } call && ReferenceEquals(call.Bus, this);

    /// <summary>Inside a handler of this bus that has not returned: a wait for idle or a drain would wait for that
    /// handler. Work the handler started and left running is not, once that handler returned, whatever the
    /// subscription handles next (it still counts as nested for publishing).</summary>
    private bool InsideRunningHandler => CurrentCall.Value is { Running: true } call && ReferenceEquals(call.Bus, this);

    public ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var nested = InsideHandler;
        var state = Volatile.Read(ref _state);
        if (state == Stopped || (state == Draining && !nested))
            return ValueTask.FromException(ShutDownError(topic));
        // As the slow path and ChannelWriter.WriteAsync: a publish whose token is already cancelled delivers nothing
        // (it was delivered whenever every queue had room, and refused only when one was full).
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);

        Interlocked.Increment(ref _published);
        if (!_topics.TryGetValue(topic, out var subscribers)) return default;

        var delivery = new BusEvent(topic, payload);
        Interlocked.Add(ref _pending, subscribers.Length);
        for (var i = 0; i < subscribers.Length; i++)
        {
            var subscriber = subscribers[i];
            if (subscriber.Writer.TryWrite(delivery)) continue;
            if (nested)
            {
                EnqueuePastCapacity(subscriber, delivery);
                continue;
            }
            return PublishWaitingAsync(subscribers, i, delivery, cancellationToken);
        }
        return default;
    }

    /// <summary>The slow path: a queue was full (or closed); waits for room, subscriber after subscriber.</summary>
    private async ValueTask PublishWaitingAsync(Subscription[] subscribers, int from, BusEvent delivery, CancellationToken cancellationToken)
    {
        // Whether a subscriber has the delivery: the fast path wrote to every one before `from`.
        var taken = from > 0;
        for (var i = from; i < subscribers.Length; i++)
        {
            try
            {
                await subscribers[i].Writer.WriteAsync(delivery, cancellationToken).ConfigureAwait(false);
                taken = true;
            }
            catch (ChannelClosedException)
            {
                // Unsubscribed meanwhile (skip it) or the bus stopped (refuse the rest).
                DeliveryFinished();
                if (Volatile.Read(ref _state) == Stopped)
                {
                    AbandonDeliveries(subscribers.Length - i - 1);
                    NotPublished(taken);
                    throw ShutDownError(delivery.Topic);
                }
            }
            catch (OperationCanceledException)
            {
                // Subscribers before i have the delivery; this one and the rest never will.
                AbandonDeliveries(subscribers.Length - i);
                NotPublished(taken);
                throw;
            }
        }
    }

    /// <summary>A publish that threw before any subscriber took it was not accepted: Published does not count it, as
    /// it does not count one refused or cancelled before it began.</summary>
    private void NotPublished(bool taken)
    {
        if (!taken) Interlocked.Decrement(ref _published);
    }

    /// <summary>A nested publish into a full queue: parked as a blocked write, which the channel keeps in order.</summary>
    private void EnqueuePastCapacity(Subscription subscriber, BusEvent delivery)
    {
        var write = subscriber.Writer.WriteAsync(delivery, CancellationToken.None);
        if (write.IsCompletedSuccessfully) return;
        _ = ObserveParkedWriteAsync(write);
    }

    private async Task ObserveParkedWriteAsync(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            DeliveryFinished();
        }
    }

    public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        return Subscribe([topic], handler);
    }

    public IDisposable Subscribe(IReadOnlyList<string> topics, Func<BusEvent, CancellationToken, ValueTask> handler)
    {
        var names = IEventBus.CheckTopics(topics);
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = new Subscription(this, names, handler, _options.QueueCapacity);
        lock (_gate)
        {
            if (_state != Running)
                throw new InvalidOperationException($"the event bus is shut down; cannot subscribe to '{string.Join("', '", names)}' after ShutdownAsync");
            foreach (var topic in names)
                _topics.AddOrUpdate(topic, static (_, s) => [s], static (_, existing, s) => [.. existing, s], subscription);
            _subscriberCount++;
            // Finished loops are dropped only once the list has doubled: a sweep on every subscribe made n live
            // subscriptions cost O(n^2) (64,000 topics: 10.7 s).
            if (_loops.Count >= _loopsSweepAt)
            {
                _loops.RemoveAll(static t => t.IsCompleted);
                _loopsSweepAt = Math.Max(MinLoopsSweep, 2 * _loops.Count);
            }
            _loops.Add(subscription.Start());
        }
        return subscription;
    }

    private void Unsubscribe(Subscription subscription)
    {
        lock (_gate)
        {
            var found = false;
            foreach (var topic in subscription.Topics)
            {
                if (!_topics.TryGetValue(topic, out var existing) || Array.IndexOf(existing, subscription) < 0) continue;
                found = true;
                var remaining = existing.Where(s => !ReferenceEquals(s, subscription)).ToArray();
                if (remaining.Length == 0) _topics.TryRemove(topic, out _);
                else _topics[topic] = remaining;
            }
            if (!found) return;
            _subscriberCount--;
        }
        subscription.Close(discardQueued: true);
    }

    public Task WaitForIdleAsync(CancellationToken cancellationToken = default)
    {
        if (InsideRunningHandler)
            throw new InvalidOperationException(
                "WaitForIdleAsync was called from inside a handler of this event bus; it would wait for that handler itself. " +
                "Publish and return instead, or wait from outside the bus.");
        return WaitForIdleCore(cancellationToken);
    }

    private Task WaitForIdleCore(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _pending) == 0) return Task.CompletedTask;
        TaskCompletionSource signal;
        lock (_gate)
        {
            signal = _idleSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // Pairs with the decrement in DeliveryFinished: either it sees the signal, or we see zero here.
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _pending) == 0)
            {
                _idleSignal = null;
                signal.TrySetResult();
            }
        }
        return signal.Task.WaitAsync(cancellationToken);
    }

    private void DeliveryFinished()
    {
        if (Interlocked.Decrement(ref _pending) == 0 && Volatile.Read(ref _idleSignal) is not null) SignalIdle();
    }

    private void AbandonDeliveries(int count)
    {
        if (count > 0 && Interlocked.Add(ref _pending, -count) == 0 && Volatile.Read(ref _idleSignal) is not null) SignalIdle();
    }

    private void SignalIdle()
    {
        lock (_gate)
        {
            if (Volatile.Read(ref _pending) != 0 || _idleSignal is not { } signal) return;
            _idleSignal = null;
            signal.TrySetResult();
        }
    }

    public Task ShutdownAsync(TimeSpan timeout)
    {
        // Checked before the bus starts draining: a refused limit leaves the bus as it was.
        timeout = DrainTimeout.Normalise(timeout, nameof(timeout));
        if (InsideRunningHandler)
            throw new InvalidOperationException(
                "ShutdownAsync was called from inside a handler of this event bus; draining would wait for that handler itself.");
        lock (_gate)
        {
            if (_shutdown is not null) return _shutdown;
            _state = Draining;
            _shutdown = ShutdownCoreAsync(timeout);
            return _shutdown;
        }
    }

    private async Task ShutdownCoreAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var drained = true;
        try
        {
            await WaitForIdleCore(CancellationToken.None).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            drained = false;
        }

        Subscription[] subscriptions;
        Task[] loops;
        lock (_gate)
        {
            _state = Stopped;
            subscriptions = [.. _topics.Values.SelectMany(s => s)];
            _topics.Clear();
            _subscriberCount = 0;
            loops = [.. _loops];
            _loops.Clear();
        }

        if (drained)
        {
            foreach (var subscription in subscriptions) subscription.Close(discardQueued: false);
            // Drained loops end within microseconds of Close; the floor keeps a zero timeout from racing them.
            var remaining = timeout == Timeout.InfiniteTimeSpan ? timeout : Max(LoopExitGrace, timeout - clock.Elapsed);
            try
            {
                await Task.WhenAll(loops).WaitAsync(remaining).ConfigureAwait(false);
                return;
            }
            catch (TimeoutException)
            {
                // Work that slipped in after the drain (a handler's background task publishing) outlived the timeout.
            }
        }

        var abandoned = Volatile.Read(ref _pending);
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var subscription in subscriptions) subscription.Close(discardQueued: true);
        // Counts what was unfinished, queued or running (a running handler is cancelled, not discarded), as the
        // NATS bus's drain warning does.
        var unfinished = abandoned == 1 ? "1 delivery" : $"{abandoned} deliveries";
        Report(() => LogDrainTimedOut(_logger, clock.Elapsed.TotalMilliseconds, unfinished));
    }

    private static readonly TimeSpan LoopExitGrace = TimeSpan.FromSeconds(1);

    /// <summary>Writes a report whose failure (a logging provider that throws) must not end a subscriber's loop or
    /// fault a shutdown: it ended the loop for good (no more deliveries, WaitForIdle never returned). What is
    /// reported stays counted in <see cref="Stats"/>; there is nowhere left to report the logger's own failure.</summary>
    private static void Report(Action log)
    {
        try
        {
            log();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // See above.
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public ValueTask DisposeAsync() => new(ShutdownAsync(_options.EffectiveShutdownTimeout));

    private static InvalidOperationException ShutDownError(string topic) =>
        new($"the event bus is shut down; publish to '{topic}' refused (ShutdownAsync or DisposeAsync was called)");

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "event bus: a handler for topic '{Topic}' failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "event bus: shutdown drain timed out after {ElapsedMs:F0} ms with {Unfinished} queued or being handled; the queued ones are discarded and the running handlers cancelled")]
    private static partial void LogDrainTimedOut(ILogger logger, double elapsedMs, string unfinished);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "event bus: {Count} queued deliveries for '{Topics}' discarded on unsubscribe")]
    private static partial void LogDiscarded(ILogger logger, int count, string topics);

    /// <summary>One subscriber (of one topic or several): its bounded queue and the loop that delivers from it, one
    /// delivery at a time.</summary>
    private sealed class Subscription : IDisposable
    {
        private readonly Func<BusEvent, CancellationToken, ValueTask> _handler;
        private readonly Channel<BusEvent> _queue;
        private volatile bool _discard;

        public Subscription(EventBus bus, string[] topics, Func<BusEvent, CancellationToken, ValueTask> handler, int capacity)
        {
            Bus = bus;
            Topics = topics;
            _handler = handler;
            _queue = Channel.CreateBounded<BusEvent>(new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = true,
                SingleWriter = false,
                AllowSynchronousContinuations = false,
            });
        }

        public EventBus Bus { get; }

        public string[] Topics { get; }

        public ChannelWriter<BusEvent> Writer => _queue.Writer;

        public Task Start() => Task.Run(RunAsync);

        public void Dispose() => Bus.Unsubscribe(this);

        public void Close(bool discardQueued)
        {
            if (discardQueued) _discard = true;
            _queue.Writer.TryComplete();
        }

        private async Task RunAsync()
        {
            var reader = _queue.Reader;
            var token = Bus._stopping.Token;
            var discarded = 0;
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var delivery))
                {
                    if (_discard)
                    {
                        discarded++;
                        Bus.DeliveryFinished();
                        continue;
                    }
                    var call = new HandlerCall(Bus);
                    CurrentCall.Value = call;
                    try
                    {
                        var handled = _handler(delivery, token);
                        if (!handled.IsCompletedSuccessfully) await handled.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        // Cancelled by a shutdown that timed out: not a handler failure.
                    }
                    catch (Exception e)
                    {
                        Interlocked.Increment(ref Bus._errors);
                        Report(() => LogHandlerFailed(Bus._logger, e, delivery.Topic));
                    }
                    call.Running = false;
                    Interlocked.Increment(ref Bus._delivered);
                    Bus.DeliveryFinished();
                }
            }
            if (discarded > 0) Report(() => LogDiscarded(Bus._logger, discarded, string.Join(", ", Topics)));
        }
    }

    /// <summary>One handler call; <see cref="Running"/> until the handler returned (or threw).</summary>
    private sealed class HandlerCall(EventBus bus)
    {
        public EventBus Bus { get; } = bus;

        public volatile bool Running = true;
    }
}
