using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;

namespace Meta.Gpu.Nats;

/// <summary>
/// The event bus of DESIGN §3 carried by a NATS broker, so that domains, the aggregator and the supervisor can
/// run as separate processes on separate machines. Same contract as the in-process bus: FIFO per subscriber,
/// handler isolation, bounded queues with backpressure, <see cref="WaitForIdleAsync"/> for this process's
/// deliveries, a draining shutdown and stats.
/// </summary>
/// <remarks>
/// <para>Topics map to subjects <c>{prefix}.{topic}</c>; payloads travel as System.Text.Json (WireJson) and
/// arrive as <see cref="JsonNode"/> (read them with <see cref="BusPayload"/>).</para>
/// <para>Durable topics (<see cref="NatsBusOptions.DurableTopics"/>, by default the domain work) go through a
/// JetStream stream per topic with a durable consumer; a message is acknowledged only after every local
/// handler finished with it (returned or threw), so nothing is lost when a process dies. A publish with
/// <c>domain_id</c> and <c>sequence</c> carries the message id <c>{domain_id}:{sequence}</c>
/// (<c>Nats-Msg-Id</c>), so a retried publish is stored once; a redelivery after a crash is still possible and
/// is recognised by the receiver from the same two fields (DESIGN §10: the agent ignores a sequence not newer
/// than the last one it saved). Other topics are core NATS: fire-and-forget, at most once.</para>
/// <para>Dense topics carry their float32 <c>vector</c> binary, as a <see cref="DensePriorFile"/> record whose
/// round field is the domain's sequence (DESIGN §11); one larger than the inline limit
/// goes through the JetStream object store and the message carries the object's name and SHA-256. The receiver
/// verifies both checksums and rejects a mismatch (an error log line and <see cref="NatsBusStats.Rejected"/>),
/// never delivering it.</para>
/// </remarks>
public sealed partial class NatsEventBus : IEventBus
{
    internal const string KindHeader = "Meta-Gpu-Kind";
    private const string KindDenseInline = "dense-inline";
    private const string KindDenseObject = "dense-object";
    private const string ObjectField = "vector_object";
    private const string OriginHeader = "Meta-Gpu-Origin";
    private const int Running = 0;
    private const int Draining = 1;
    private const int Stopped = 2;

    /// <summary>The handler call that runs the current code (or started it), set per delivery: work a handler left
    /// running can tell that its own handler has returned.</summary>
    internal static readonly AsyncLocal<HandlerCall?> CurrentHandlerCall = new();
    /// <summary>Inside a handler of this bus that has not returned: a wait for idle or a drain would wait for it. Work
    /// the handler started and left running may wait or shut down once that handler returned (a publish from it
    /// still counts as a handler's).</summary>
    private bool InsideRunningHandler => CurrentHandlerCall.Value is { Running: true } call && ReferenceEquals(call.Bus, this);

    /// <summary>One handler call; <see cref="Running"/> until the handler returned (or threw).</summary>
    internal sealed class HandlerCall(NatsEventBus bus)
    {
        public NatsEventBus Bus { get; } = bus;

        public volatile bool Running = true;
    }

    private static readonly byte[] JsonNull = "null"u8.ToArray();

    private static readonly Meter Meter = new("Meta.Gpu.Nats");
    private static readonly Counter<long> RejectedCounter = Meter.CreateCounter<long>("meta_gpu.bus.rejected", description: "messages rejected by verification, never delivered");
    private static readonly Counter<long> DroppedCounter = Meter.CreateCounter<long>("meta_gpu.bus.dropped", description: "telemetry messages dropped by a full client buffer");
    private static readonly Counter<long> RedeliveredCounter = Meter.CreateCounter<long>("meta_gpu.bus.redelivered", description: "durable messages delivered more than once");
    private static readonly Counter<long> ConsumedCopiesCounter = Meter.CreateCounter<long>("meta_gpu.bus.consumed_copies_dropped", description: "copies of dense messages dropped because another delivery of them was consumed");

    private readonly ConcurrentDictionary<string, TopicFeed> _feeds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task>> _streams = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Subject, bool Durable, bool Dense)> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _retiring = new();
    private readonly ConcurrentDictionary<string, byte> _consumerTopics = new(StringComparer.Ordinal);
    private readonly Lock _feedGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly NatsObjContext _objects;
    private readonly SemaphoreSlim _objectStoreGate = new(1, 1);
    private INatsObjStore? _objectStore;
    private readonly DurablePublisher _publisher;

    private long _published, _delivered, _errors, _dropped, _rejected, _redelivered, _duplicates, _acknowledged, _objectsPut, _objectsFetched, _publishFailed, _unnamedPublishes, _reconnects, _consumedCopies;
    private int _inDispatch, _pendingDeliveries, _unready, _subscriberCount, _lost;
    private int _state = Running;
    private volatile bool _abandoned;
    /// <summary>What the last wait for idle found still outstanding (the drain's warning names it).</summary>
    private volatile string? _idleBlocker;
    private int _shutdownStarted;
    private readonly string _origin = Guid.NewGuid().ToString("N");

    private NatsEventBus(NatsBusOptions options, NatsConnection connection, ILogger logger)
    {
        Options = options;
        Connection = connection;
        Logger = logger;
        JetStream = new NatsJSContext(connection);
        _objects = new NatsObjContext(JetStream);
        _publisher = new DurablePublisher(this);
        connection.MessageDropped += OnMessageDroppedAsync;
        connection.ConnectionDisconnected += (_, args) =>
        {
            Volatile.Write(ref _lost, 1);
            // Core NATS is at most once: what this process sent its own subscribers before the loss may never come
            // back, and counted as in flight it held WaitForIdle (and, past the queue capacity, publishers) for ever.
            foreach (var feed in _feeds.Values) feed.ConnectionLost();
            Logger.LogWarning("bus: disconnected from {Url} ({Reason}); reconnecting", Options.DisplayUrl, args.Message);
            return ValueTask.CompletedTask;
        };
        connection.ConnectionOpened += (_, _) =>
        {
            // The client reports the first connection too, after this handler is registered: only an opening
            // after a loss is a reconnection (the client raises its events in order).
            if (Interlocked.Exchange(ref _lost, 0) == 0)
            {
                Logger.LogInformation("bus: connected to {Url}", Options.DisplayUrl);
                return ValueTask.CompletedTask;
            }
            Interlocked.Increment(ref _reconnects);
            // A warning, as the disconnection's: the commands log warnings only, and they showed the loss but not the
            // recovery. The address without its secret, as everywhere.
            Logger.LogWarning("bus: reconnected to {Url}", Options.DisplayUrl);
            // Confirmations of what went out before may never come.
            _publisher.Reconnected();
            return ValueTask.CompletedTask;
        };
    }

    public NatsBusOptions Options { get; }

    internal NatsConnection Connection { get; }

    /// <summary>Durable publishes written and not yet confirmed or given up.</summary>
    internal int DurableInFlight => _publisher.InFlight;

    internal NatsJSContext JetStream { get; }

    internal ILogger Logger { get; }

    internal CancellationToken StoppingToken => _stopping.Token;

    internal bool IsAbandoned => _abandoned;

    /// <summary>The largest dense message sent inline, in bytes.</summary>
    public int InlineLimitBytes => Options.InlineLimitBytes ?? Math.Max(1024, (Connection.ServerInfo?.MaxPayload ?? 1024 * 1024) - 64 * 1024);

    public EventBusStats Stats => new(
        Interlocked.Read(ref _published),
        Interlocked.Read(ref _delivered),
        Interlocked.Read(ref _errors),
        _feeds.Count,
        Volatile.Read(ref _subscriberCount));

    public NatsBusStats NatsStats => new(
        Interlocked.Read(ref _dropped),
        Interlocked.Read(ref _rejected),
        Interlocked.Read(ref _redelivered),
        Interlocked.Read(ref _duplicates),
        Interlocked.Read(ref _acknowledged),
        Interlocked.Read(ref _objectsPut),
        Interlocked.Read(ref _objectsFetched),
        Interlocked.Read(ref _publishFailed),
        Interlocked.Read(ref _reconnects),
        Interlocked.Read(ref _consumedCopies));

    /// <summary>
    /// Connects to the broker. Fails within <see cref="NatsBusOptions.ConnectTimeout"/> with an
    /// <see cref="InvalidInputException"/> naming the address when the broker cannot be reached or lacks
    /// JetStream; once connected, a lost connection is re-established automatically.
    /// </summary>
    /// <param name="options">The broker and the topic settings.</param>
    /// <param name="loggerFactory">Logging of the NATS client and, unless <paramref name="logger"/> is given, of the bus.</param>
    /// <param name="logger">Where the bus reports failing handlers, rejected messages, drops and shutdown problems.</param>
    /// <param name="cancellationToken">Stops connecting.</param>
    public static async Task<NatsEventBus> ConnectAsync(NatsBusOptions options, ILoggerFactory? loggerFactory = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Validated();
        loggerFactory ??= NullLoggerFactory.Instance;
        var connection = new NatsConnection(new NatsOpts
        {
            Url = options.Url,
            Name = options.ClientName,
            // The client's default, named here so that the prefix check (NatsSubjects.ValidateToken) refuses this one.
            InboxPrefix = NatsSubjects.InboxPrefix,
            ConnectTimeout = options.ConnectTimeout,
            RequestTimeout = TimeSpan.FromSeconds(10),
            CommandTimeout = TimeSpan.FromSeconds(10),
            RetryOnInitialConnect = false,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            ReconnectJitter = TimeSpan.FromMilliseconds(50),
            SubPendingChannelCapacity = options.PendingCapacity,
            SubPendingChannelFullMode = System.Threading.Channels.BoundedChannelFullMode.DropNewest,
            LoggerFactory = loggerFactory,
        });
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(options.ConnectTimeout + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or System.Net.Sockets.SocketException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new InvalidInputException(FormattableString.Invariant($"bus {options.DisplayUrl}: broker not reachable within {options.ConnectTimeout.TotalSeconds:0.#} s ({Innermost(e).Message})"), e);
        }
        catch (OperationCanceledException)
        {
            // The connection given up here would finish its handshake later and, reconnecting for ever, outlive
            // the caller: nobody else holds it.
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var bus = new NatsEventBus(options, connection, logger ?? loggerFactory.CreateLogger<NatsEventBus>());
        if (options.DurableTopics.Count > 0 || options.DenseTopics.Count > 0)
        {
            try
            {
                await bus.JetStream.GetAccountInfoAsync(cancellationToken).AsTask().WaitAsync(options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw new InvalidInputException($"bus {options.DisplayUrl}: the broker has no JetStream ({Innermost(e).Message}); start it with 'nats-server -js'", e);
            }
            catch (OperationCanceledException)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        return bus;
    }

    public async ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
    {
        var fromHandler = ReferenceEquals(CurrentHandlerCall.Value?.Bus, this);
        ThrowIfRefused(fromHandler);
        var (subject, durable, dense) = Route(topic);
        if (Volatile.Read(ref _unready) > 0) await WhenFeedsReadyAsync(cancellationToken).ConfigureAwait(false);

        NatsHeaders? headers = null;
        byte[] body;
        string? messageId = null;
        string? kind = null;
        string? objectName = null;
        if (dense)
        {
            (body, kind, messageId, objectName) = await EncodeDenseAsync(topic, payload, cancellationToken).ConfigureAwait(false);
            headers = new NatsHeaders { [KindHeader] = kind };
        }
        else if (durable)
        {
            var node = BusPayload.AsNode(payload);
            messageId = MessageId(node as JsonObject);
            body = node is null ? JsonNull : JsonSerializer.SerializeToUtf8Bytes(node, WireJson.Options);
        }
        else
        {
            body = payload is null ? JsonNull : JsonSerializer.SerializeToUtf8Bytes(payload, payload.GetType(), WireJson.Options);
        }

        if (durable)
        {
            await EnsureStreamAsync(topic, cancellationToken).ConfigureAwait(false);
            // Without domain id and sequence the id is this bus's own, so that a resend is still stored once.
            messageId ??= string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{_origin}:{Interlocked.Increment(ref _unnamedPublishes)}");
            await _publisher.PublishAsync(topic, subject, body, kind, messageId, cancellationToken, objectName).ConfigureAwait(false);
        }
        else if (_feeds.TryGetValue(topic, out var local))
        {
            // A subscriber of this process will get it back: mark it ours, so that backpressure and
            // WaitForIdle can count it until it returns. A handler's own publishes never wait (they could wait
            // for the very queue their handler drains); they are still counted.
            // Only once the broker routes the topic to this process: a subscription made while this publish was under
            // way (after the wait at the top) may not be there yet, and a message sent ahead of it never returns.
            if (!local.Ready.IsCompletedSuccessfully) await WhenFeedsReadyAsync(cancellationToken).ConfigureAwait(false);
            if (!fromHandler)
            {
                await local.WaitForRoomAsync(Options.QueueCapacity, cancellationToken).ConfigureAwait(false);
                // The bus stopped while this publish waited (its subscribers closed, their queues never read again):
                // refused, as a publish made after the stop.
                ThrowIfRefused(fromHandler: true);
            }
            headers ??= [];
            headers[OriginHeader] = _origin;
            local.LocalSent();
            try
            {
                await Connection.PublishAsync(subject, body, headers, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                local.LocalReturned();
                throw;
            }
        }
        else
        {
            await Connection.PublishAsync(subject, body, headers, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        Interlocked.Increment(ref _published);
    }

    /// <summary>Where a topic's publishes go, worked out (and the topic validated) once per topic rather than
    /// per message: telemetry publishes run at hundreds of thousands per second.</summary>
    private (string Subject, bool Durable, bool Dense) Route(string topic)
    {
        if (topic is not null && _routes.TryGetValue(topic, out var route)) return route;
        NatsSubjects.ValidateTopic(topic!);
        return _routes.GetOrAdd(topic!, t => (NatsSubjects.Subject(Options.SubjectPrefix, t), Options.IsDurable(t), Options.IsDense(t)));
    }

    public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Volatile.Read(ref _state) != Running) throw new InvalidOperationException("the event bus is shut down: no more subscriptions");
        NatsSubjects.ValidateTopic(topic);
        lock (_feedGate)
        {
            if (!_feeds.TryGetValue(topic, out var feed))
            {
                feed = Options.IsDurable(topic) ? new DurableTopicFeed(this, topic) : new CoreTopicFeed(this, topic);
                _feeds[topic] = feed;
                Interlocked.Increment(ref _unready);
                feed.Start();
                _ = feed.Ready.ContinueWith(
                    t =>
                    {
                        Interlocked.Decrement(ref _unready);
                        // A feed still opening when the bus stops fails with the closed connection: not news.
                        // The message only: a stack trace per topic buried the one line a caller reports.
                        if (t.Exception is { } failure && !_stopping.IsCancellationRequested && Options.LogSubscriptionFailures)
                            Logger.LogError("bus: subscribing to {Topic} failed: {Error}", topic, (failure.InnerException ?? failure).Message);
                    },
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            Interlocked.Increment(ref _subscriberCount);
            return feed.Add(handler, Options.QueueCapacity);
        }
    }

    /// <summary>
    /// Completes when every delivery to this process's subscribers of what was published so far (by this process,
    /// or already stored in a durable stream) has been handled, including what handlers published meanwhile.
    /// </summary>
    /// <remarks>Core topics: a ping round trip proves the broker has sent this connection everything published
    /// before it; then the local buffers and queues must be empty. Durable topics: the consumer must have
    /// nothing pending and nothing unacknowledged.</remarks>
    public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => WaitForIdleCoreAsync(cancellationToken, draining: false);

    /// <param name="cancellationToken">Stops waiting.</param>
    /// <param name="draining">The shutdown's drain: a subscription the broker refused holds nothing to wait for, and
    /// is passed over rather than thrown again until the drain's time-out (a refused `serve` printed two warnings
    /// and waited 5 s after its one error line).</param>
    private async Task WaitForIdleCoreAsync(CancellationToken cancellationToken, bool draining)
    {
        if (InsideRunningHandler)
            throw new InvalidOperationException("WaitForIdleAsync called from a handler of this bus would wait for itself");
        var delay = 1;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _publisher.ThrowIfFailed();
            await WhenFeedsReadyAsync(cancellationToken, passFailed: draining).ConfigureAwait(false);
            var published = Interlocked.Read(ref _published);
            // Not idle while durable publishes await their confirmation; no ping meanwhile, which a frozen broker
            // would never answer, so that a publish given up is thrown here.
            var confirming = _publisher.InFlight > 0;
            // A publish given up between the check above and this count has left InFlight after recording its
            // failure: throw it now, not after a ping that a frozen broker never answers.
            if (!confirming) _publisher.ThrowIfFailed();
            // Only a subscriber of this process can still be owed a delivery; without one there is nothing to
            // prove, and a frozen broker would leave the ping unanswered.
            if (!confirming && !_abandoned && !_feeds.IsEmpty && Connection.ConnectionState == NatsConnectionState.Open)
            {
                try
                {
                    // Named only while nothing else was found: a ping or a query still in flight when the drain times
                    // out must not hide the backlog an earlier answer of the same drain reported.
                    _idleBlocker ??= "the broker's answer to a ping";
                    await Connection.PingAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or NatsException && !cancellationToken.IsCancellationRequested)
                {
                    // The client cancels (or fails) a ping whose connection dropped: the broker went away, which a publisher
                    // waits through (idle is proven again once it is back), not a caller cancelling the wait.
                    _idleBlocker = "the broker away (the connection dropped)";
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = Math.Min(delay * 2, 20);
                    continue;
                }
            }
            var busy = confirming ? PublishesAwaitingConfirmation(_publisher.InFlight) : LocalBacklog();
            if (busy is null)
            {
                // Named before asking, so that a broker that never answers is what a timed-out drain names.
                _idleBlocker ??= "the broker's answer about this process's durable consumers";
                busy = await BrokerBacklogAsync(cancellationToken).ConfigureAwait(false) ?? LocalBacklog();
            }
            if (busy is null && Interlocked.Read(ref _published) == published) return;
            _idleBlocker = busy ?? "a publish made while the bus was checked";
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 20);
        }
    }

    /// <summary>Drains (up to <paramref name="timeout"/>), then refuses new publishes and leaves the broker.
    /// Durable messages not handled by then stay unacknowledged and are redelivered to the next consumer.</summary>
    /// <remarks>Publishes from outside are refused at once; handlers may still publish while the bus drains.
    /// When the drain times out, the handlers' cancellation token is cancelled, what is queued is discarded and a
    /// warning gives the count.</remarks>
    public async Task ShutdownAsync(TimeSpan timeout)
    {
        if (InsideRunningHandler)
            throw new InvalidOperationException("ShutdownAsync called from a handler of this bus would wait for itself");
        timeout = DrainTimeout.Normalise(timeout, nameof(timeout));
        if (Interlocked.Exchange(ref _shutdownStarted, 1) != 0)
        {
            Volatile.Write(ref _state, Stopped);
            return;
        }
        Volatile.Write(ref _state, Draining);
        _idleBlocker = null; // what an earlier wait for idle found is no reason of this drain's
        if (timeout != TimeSpan.Zero)
        {
            using var drain = timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(timeout);
            string? reported = null;
            try
            {
                while (true)
                {
                    try
                    {
                        await WaitForIdleCoreAsync(drain.Token, draining: true).ConfigureAwait(false);
                        break;
                    }
                    catch (NatsException e)
                    {
                        // A durable publish given up earlier (logged and counted when it was), or the broker briefly
                        // away: not a reason to cancel the handlers still running; the drain goes on to its limit.
                        if (e.Message != reported) Logger.LogWarning("bus: during the shutdown drain: {Error}; still draining", e.Message);
                        reported = e.Message;
                        await Task.Delay(10, drain.Token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // What the drain last waited for: "0 deliveries unfinished" alone read as a fault when the broker
                // still held messages for this process's consumer or another process of the prefix held some.
                Logger.LogWarning("bus: shutdown drain timed out after {Timeout} waiting for {Outstanding} (durable messages not acknowledged are delivered again to the next consumer)",
                    timeout, _idleBlocker ?? "its subscriptions to be made at the broker");
                await _stopping.CancelAsync().ConfigureAwait(false);
            }
        }
        Volatile.Write(ref _state, Stopped);
        // Durable publishes still unconfirmed (the drain timed out) get their own PublishTimeout.
        await _publisher.FlushAndStopAsync(abandon: false).ConfigureAwait(false);
        await StopFeedsAsync().ConfigureAwait(false);
        await ConfirmAcknowledgementsAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Proves that the broker has read the acknowledgements this bus sent before its connection closes: they leave
    /// through the client's write queue, and NATS.Net closes the socket before writing what is still queued there, so
    /// on a busy machine the last round's acknowledgements could be lost and their messages delivered again to the
    /// next consumer (a restarted agent counted one as stale). The broker answers a ping after everything written
    /// before it; one unanswered within <see cref="NatsBusOptions.ConnectTimeout"/> is a warning, not a wait.
    /// </summary>
    private async Task ConfirmAcknowledgementsAsync()
    {
        if (_consumerTopics.IsEmpty) return; // no durable consumer, nothing acknowledged
        if (Connection.ConnectionState != NatsConnectionState.Open)
        {
            Logger.LogInformation("bus: the connection was not open at the stop; acknowledgements not yet sent are dropped and their messages delivered again");
            return;
        }
        using var limit = new CancellationTokenSource(Options.ConnectTimeout);
        try
        {
            await Connection.PingAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or NatsException or TimeoutException)
        {
            Logger.LogWarning("bus: the broker answered nothing within {Seconds} s at the stop; acknowledgements sent just before may not have reached it (their messages are delivered again)",
                Options.ConnectTimeout.TotalSeconds);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await ShutdownAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        finally
        {
            // Whatever the shutdown met, the connection closes.
            await _stopping.CancelAsync().ConfigureAwait(false);
            await Connection.DisposeAsync().ConfigureAwait(false);
            _stopping.Dispose();
            _objectStoreGate.Dispose();
        }
    }

    /// <summary>Leaves as a crash would: nothing more is handled or acknowledged, queued deliveries are dropped and
    /// the connection closes. For tests of what the broker does after a crash.</summary>
    internal async ValueTask AbandonAsync()
    {
        _abandoned = true;
        Volatile.Write(ref _state, Stopped);
        Interlocked.Exchange(ref _shutdownStarted, 1);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _publisher.FlushAndStopAsync(abandon: true).ConfigureAwait(false);
        await StopFeedsAsync().ConfigureAwait(false);
        await Connection.DisposeAsync().ConfigureAwait(false);
    }

    private async Task StopFeedsAsync()
    {
        List<TopicFeed> feeds;
        lock (_feedGate)
        {
            feeds = [.. _feeds.Values];
            _feeds.Clear();
        }
        foreach (var feed in feeds)
            foreach (var subscriber in feed.Subscribers)
                subscriber.Close();
        await Task.WhenAll(feeds.Select(f => f.StopAsync()).Concat(_retiring.Keys)).ConfigureAwait(false);
        var handlers = feeds.SelectMany(f => f.Subscribers).Select(s => s.Completion).ToList();
        try
        {
            await Task.WhenAll(handlers).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A handler that ignores its cancellation (a long GPU round): the bus stops without it, as the
            // in-process bus does after its drain limit; its message, unacknowledged, is redelivered elsewhere.
            Logger.LogWarning("bus: {Count} handlers still running 5 s after the stop; leaving them",
                handlers.Count(t => !t.IsCompleted));
        }
    }

    private void ThrowIfRefused(bool fromHandler)
    {
        var state = Volatile.Read(ref _state);
        if (state == Stopped || (state == Draining && !fromHandler))
            throw new InvalidOperationException("the event bus is shut down: no more publishes");
    }

    /// <summary>True when a received message was published by this bus.</summary>
    internal bool IsOwn(NatsHeaders? headers) =>
        headers is not null && headers.TryGetLastValue(OriginHeader, out var origin) && origin == _origin;

    /// <summary>
    /// Completes once every subscription made so far receives from the broker. Throws, as an
    /// <see cref="InvalidInputException"/> naming the topic, the first that could not be opened (a prefix whose
    /// stream another prefix holds; a broker that refused the stream or the consumer), which the bus otherwise only
    /// logs: a service that subscribes at start-up awaits this before it reports itself serving, rather than
    /// running on with a subscription that will never deliver.
    /// </summary>
    public async Task WhenSubscribedAsync(CancellationToken cancellationToken = default)
    {
        foreach (var feed in _feeds.Values)
        {
            try
            {
                await feed.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidInputException)
            {
                throw;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new InvalidInputException($"bus {Options.DisplayUrl}: subscribing to {feed.Topic} failed ({e.Message})", e);
            }
        }
    }

    /// <param name="cancellationToken">Stops waiting.</param>
    /// <param name="passFailed">Whether a feed that failed to open is passed over instead of thrown.</param>
    private async Task WhenFeedsReadyAsync(CancellationToken cancellationToken, bool passFailed = false)
    {
        foreach (var feed in _feeds.Values)
        {
            if (feed.Ready.IsCompletedSuccessfully) continue;
            try
            {
                await feed.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (passFailed && feed.Failed)
            {
                // Reported where it failed (the subscription's log line, WhenSubscribedAsync, a publish).
            }
        }
    }

    /// <summary>Null when nothing is left in this process; otherwise what is, in words.</summary>
    private string? LocalBacklog()
    {
        // Read in this order: buffered messages, then messages being dispatched, then queued deliveries; a
        // message moves forward through them and is counted in the next before it leaves the previous.
        var received = 0;
        foreach (var feed in _feeds.Values) received += feed.Buffered + feed.LocalInFlight;
        var dispatching = Volatile.Read(ref _inDispatch);
        var deliveries = Volatile.Read(ref _pendingDeliveries);
        var publishing = _publisher.InFlight;
        if (received == 0 && dispatching == 0 && deliveries == 0 && publishing == 0) return null;
        List<string> parts = [];
        if (received > 0) parts.Add($"{BacklogWords.Count(received, "message")} received and not yet handed to subscribers");
        if (dispatching > 0) parts.Add($"{BacklogWords.Count(dispatching, "message")} being dispatched");
        if (deliveries > 0) parts.Add($"{BacklogWords.Count(deliveries, "delivery", "deliveries")} queued or being handled");
        if (publishing > 0) parts.Add(PublishesAwaitingConfirmation(publishing));
        return string.Join(", ", parts);
    }

    private static string PublishesAwaitingConfirmation(int count) =>
        $"{BacklogWords.Count(count, "durable publish", "durable publishes")} awaiting the broker's confirmation";

    private async ValueTask<string?> BrokerBacklogAsync(CancellationToken cancellationToken)
    {
        foreach (var feed in _feeds.Values)
            // A feed that failed to open has no consumer to ask, and nothing was delivered through it.
            if (!feed.Failed && await feed.BrokerBacklogAsync(cancellationToken).ConfigureAwait(false) is { } backlog)
                return backlog;
        return null;
    }

    internal void Unsubscribed(TopicFeed feed, LocalSubscriber subscriber)
    {
        lock (_feedGate)
        {
            Interlocked.Decrement(ref _subscriberCount);
            if (feed.Remove(subscriber) && _feeds.TryGetValue(feed.Topic, out var current) && ReferenceEquals(current, feed))
            {
                _feeds.TryRemove(feed.Topic, out _);
                var stop = feed.StopAsync();
                _retiring.TryAdd(stop, 0);
                _ = stop.ContinueWith(t => _retiring.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    /// <summary>A durable feed created (or found) its consumer at the broker.</summary>
    internal void ConsumerCreated(string topic) => _consumerTopics.TryAdd(topic, 0);

    /// <summary>
    /// Deletes at the broker the durable consumers this bus created (<see cref="NatsBusOptions.DurableName"/> on each
    /// durable topic it subscribed to); a consumer already gone is fine. Call it after <see cref="ShutdownAsync"/>, for
    /// a run that is complete: a durable consumer outlives its process so that a restarted one resumes where it
    /// stopped, and a work-queue stream takes one consumer per topic, so one left by a finished run keeps every other
    /// aggregator (another durable name) off the prefix for good. Messages still in the streams stay there for the
    /// next consumer.
    /// </summary>
    /// <returns>The consumers deleted, as <c>STREAM/NAME</c>.</returns>
    /// <exception cref="InvalidOperationException">The bus is not shut down (a running feed would create its
    /// consumer again).</exception>
    /// <exception cref="NatsException">The broker refused a deletion or did not answer (the ones before it are
    /// deleted).</exception>
    public async Task<IReadOnlyList<string>> DeleteDurableConsumersAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _state) != Stopped || _abandoned)
            throw new InvalidOperationException("DeleteDurableConsumersAsync needs a bus that was shut down (ShutdownAsync)");
        var deleted = new List<string>();
        foreach (var topic in _consumerTopics.Keys.Order(StringComparer.Ordinal))
        {
            var stream = NatsSubjects.StreamName(Options.SubjectPrefix, topic);
            try
            {
                await JetStream.DeleteConsumerAsync(stream, Options.DurableName, cancellationToken).ConfigureAwait(false);
                deleted.Add($"{stream}/{Options.DurableName}");
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                // Gone already (deleted by hand, or the broker lost its state): nothing to do.
            }
            _consumerTopics.TryRemove(topic, out _);
        }
        return deleted;
    }

    internal void DispatchStarted() => Interlocked.Increment(ref _inDispatch);

    internal void DispatchFinished() => Interlocked.Decrement(ref _inDispatch);

    internal void DeliveryQueued() => Interlocked.Increment(ref _pendingDeliveries);

    internal void DeliveryFinished(bool handled)
    {
        if (handled) Interlocked.Increment(ref _delivered);
        Interlocked.Decrement(ref _pendingDeliveries);
    }

    internal void HandlerFailed(string topic, Exception error)
    {
        Interlocked.Increment(ref _errors);
        Logger.LogError(error, "bus: a handler of {Topic} failed: {Error}", topic, error.Message);
    }

    internal void CountDuplicate() => Interlocked.Increment(ref _duplicates);

    internal void PublishFailed(string topic, Exception failure)
    {
        Interlocked.Increment(ref _publishFailed);
        Logger.LogError("bus: a durable {Topic} message is lost: {Error}", topic, failure.Message);
    }

    internal void CountRedelivered()
    {
        Interlocked.Increment(ref _redelivered);
        RedeliveredCounter.Add(1);
    }

    internal void RejectUnreadable(string topic, Exception error) => Reject(topic, $"could not be read ({error.GetType().Name}: {error.Message})");

    private void Reject(string topic, string reason)
    {
        Interlocked.Increment(ref _rejected);
        Interlocked.Increment(ref _errors);
        RejectedCounter.Add(1, new KeyValuePair<string, object?>("topic", topic));
        Logger.LogError("bus: rejected a {Topic} message, not applied: {Reason}", topic, reason);
    }

    /// <summary>A copy of a message whose object was deleted by the consumption of another delivery of it (the
    /// broker delivered it again after its ack wait, while the first copy waited behind a slow fetch or was being
    /// handled): the update was applied once, through that delivery, so this is not an error.</summary>
    private void DropConsumedCopy(string topic, string name)
    {
        Interlocked.Increment(ref _consumedCopies);
        ConsumedCopiesCounter.Add(1, new KeyValuePair<string, object?>("topic", topic));
        Logger.LogInformation("bus: dropped a copy of a {Topic} message whose object {Name} was deleted when another delivery of it was consumed (delivered again after the ack wait)", topic, name);
    }

    private ValueTask OnMessageDroppedAsync(object? sender, NatsMessageDroppedEventArgs args)
    {
        Interlocked.Increment(ref _dropped);
        DroppedCounter.Add(1);
        var prefix = Options.SubjectPrefix + ".";
        if (IsOwn(args.Headers) && args.Subject.StartsWith(prefix, StringComparison.Ordinal)
            && _feeds.TryGetValue(args.Subject[prefix.Length..], out var feed))
            feed.LocalReturned();
        Logger.LogWarning("bus: dropped a message on {Subject}: the subscriber is {Pending} messages behind", args.Subject, args.Pending);
        return ValueTask.CompletedTask;
    }

    /// <summary>Acknowledges a durable message once every local handler is done with it, then deletes the
    /// object that carried its vector (if any): acknowledged work is never needed again.</summary>
    internal async ValueTask SettleAsync(string topic, INatsJSMsg<byte[]> msg, string? objectName, bool handled)
    {
        if (_abandoned) return;
        if (!handled)
        {
            // No local handler took it in (they all left first): give it back for the next consumer.
            try
            {
                await msg.NakAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or ObjectDisposedException or OperationCanceledException)
            {
                Logger.LogDebug("bus: giving back a {Topic} message failed ({Error}); it is redelivered after the ack wait", topic, e.Message);
            }
            return;
        }
        try
        {
            await msg.AckAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            Interlocked.Increment(ref _acknowledged);
        }
        catch (Exception e) when (e is NatsException or ObjectDisposedException or OperationCanceledException)
        {
            // The broker will redeliver; the receiver recognises it by domain id and sequence.
            Logger.LogWarning("bus: acknowledging a {Topic} message failed ({Error}); it will be redelivered", topic, e.Message);
            return;
        }
        if (objectName is null) return;
        try
        {
            var store = await ObjectStoreAsync(CancellationToken.None).ConfigureAwait(false);
            await store.DeleteAsync(objectName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            Logger.LogDebug("bus: deleting object {Name} failed ({Error}); the bucket's max age removes it", objectName, e.Message);
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
