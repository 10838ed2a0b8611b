using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Nats.Dense;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;

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
public sealed class NatsEventBus : IEventBus
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
                Logger.LogInformation("bus: connected to {Url}", Options.Url);
                return ValueTask.CompletedTask;
            }
            Interlocked.Increment(ref _reconnects);
            Logger.LogInformation("bus: reconnected to {Url}", Options.Url);
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

    /// <summary>Deletes an object no message will fetch: that of a dense publish the stream dropped as a duplicate of a
    /// message stored before (a retried publish), or that of a message rejected for it (terminated, never delivered
    /// again). Either stayed in the bucket until its max age.</summary>
    internal async Task DeleteUnusedObjectAsync(string objectName)
    {
        try
        {
            var store = await ObjectStoreAsync(CancellationToken.None).ConfigureAwait(false);
            await store.DeleteAsync(objectName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException or ObjectDisposedException)
        {
            Logger.LogDebug("bus: deleting unused object {Name} failed ({Error}); the bucket's max age removes it", objectName, e.Message);
        }
    }

    /// <summary>A decoded message (<paramref name="Ok"/>), or a rejected one (not Ok; with the name of its object when
    /// the object itself was rejected, to be deleted with the message), or, with
    /// <paramref name="TryLater"/>, one that could not be read now but is not broken: the feed gives it back.</summary>
    internal readonly record struct Decoded(bool Ok, object? Payload, string? ObjectName, bool TryLater = false);

    /// <summary>Turns a received body into the payload subscribers see; a body that fails verification is
    /// rejected here and never reaches them.</summary>
    /// <summary>Whether the message's vector waits in the object store (its decode fetches and checks it: the one
    /// decode that can take long).</summary>
    internal static bool IsDenseObject(NatsHeaders? headers) =>
        headers is not null && headers.TryGetLastValue(KindHeader, out var kind) && kind == KindDenseObject;

    internal async ValueTask<Decoded> DecodeAsync(string topic, NatsHeaders? headers, byte[]? data, CancellationToken cancellationToken)
    {
        string? kind = null;
        headers?.TryGetLastValue(KindHeader, out kind);
        try
        {
            switch (kind)
            {
                case null:
                    return new(true, data is null || data.Length == 0 ? null : JsonInput.Parse(data), null);
                case KindDenseInline:
                {
                    var (envelope, blob) = DensePayload.ReadInline(data ?? []);
                    var vector = DensePriorFile.FromBytes(blob.ToArray()).Values;
                    return new(true, DensePayload.Join(envelope, vector), null);
                }
                case KindDenseObject:
                    return await FetchDenseAsync(topic, data ?? [], cancellationToken).ConfigureAwait(false);
                default:
                    Reject(topic, $"unknown message kind '{kind}'");
                    return default;
            }
        }
        catch (Exception e) when (IsMalformed(e))
        {
            Reject(topic, e.Message);
            return default;
        }
    }

    /// <summary>What a message's own content causes, so that redelivering it fails the same way. Not a broker
    /// error, a timeout or a closing connection: those leave the message to be redelivered.</summary>
    private static bool IsMalformed(Exception e) => e is InvalidInputException or JsonException;

    /// <summary>Tests only: awaited before each object fetch, to make a fetch take as long as a test needs (a slow
    /// fetch on a busy machine) without depending on the machine's speed. Null in use.</summary>
    internal Func<CancellationToken, Task>? BeforeObjectFetch { get; set; }

    /// <summary>Tests only: awaited before each lookup of an object that could not be read (to freeze the broker for
    /// it). Null in use.</summary>
    internal Func<CancellationToken, Task>? BeforeObjectLookup { get; set; }

    /// <summary>The largest buffer a dense message's own <c>size</c> field may reserve before the object is read
    /// (a 64M-parameter vector); a larger object still arrives, into a buffer that grows.</summary>
    internal const int MaxPresizeBytes = 256 << 20;

    private async ValueTask<Decoded> FetchDenseAsync(string topic, byte[] data, CancellationToken cancellationToken)
    {
        if (BeforeObjectFetch is { } before) await before(cancellationToken).ConfigureAwait(false);
        var envelope = JsonInput.Parse(data) as JsonObject ?? throw new InvalidInputException("dense message: envelope is not a JSON object");
        var reference = envelope[ObjectField] as JsonObject ?? throw new InvalidInputException($"dense message: {ObjectField} is missing");
        envelope.Remove(ObjectField);
        // Read with JsonRead: GetValue on a field of another type throws InvalidOperationException, which would end
        // the topic's feed instead of rejecting the message.
        var name = JsonRead.String(reference, "name", "", $"dense message: {ObjectField}");
        var expected = JsonRead.String(reference, "sha256", "", $"dense message: {ObjectField}");
        if (name.Length == 0) throw new InvalidInputException($"dense message: {ObjectField}.name is missing");
        if (expected.Length == 0) throw new InvalidInputException($"dense message: {ObjectField}.sha256 is missing");
        // A hint only, from the message: trusted up to a bound, so one corrupt or hostile message cannot reserve 2 GB.
        var size = reference["size"] is JsonValue v && v.TryGetValue<long>(out var n) && n > 0 && n <= MaxPresizeBytes ? (int)n : 0;
        byte[] blob;
        string actual;
        INatsObjStore? store = null;
        try
        {
            store = await ObjectStoreAsync(cancellationToken).ConfigureAwait(false);
            // Sized from the message, so the chunks land in one buffer without regrowing or a final copy.
            using var buffer = new MemoryStream(size);
            if (await ReadObjectAsync(store, name, buffer, cancellationToken).ConfigureAwait(false) is not { } info)
            {
                switch (await LookUpObjectAsync(store, name, cancellationToken).ConfigureAwait(false))
                {
                    case ObjectPresence.Deleted:
                        // Deleted after this fetch had read its info: another delivery of the message was consumed and
                        // acknowledged meanwhile, which deletes the object. The client then waited for its chunks for ever.
                        DropConsumedCopy(topic, name);
                        return default;
                    case ObjectPresence.Missing:
                        Reject(topic, $"object {name} is missing from bucket {Options.ObjectBucket} (removed while it was being read)");
                        return default;
                }
                Logger.LogWarning("bus: object {Name} of {Topic} sent no data for {Seconds} s; the message is given back to the broker to try again later", name, topic, Options.FetchStallTimeout.TotalSeconds);
                return new(false, null, null, TryLater: true);
            }
            // The store has checked the chunks against its own SHA-256 digest while reading them; comparing that
            // digest with the message's stands for hashing the object a second time.
            actual = DigestHex(info.Digest) ?? throw new NatsObjException($"object {name} has no SHA-256 digest");
            blob = buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
        }
        catch (NatsObjNotFoundException)
        {
            // The store reports a deleted object as not found; its delete marker tells a copy of a consumed message
            // (the usual case: a redelivery that came after the first delivery's acknowledgement) from an object
            // that is not there at all (expired after object_max_age, or never stored), whose update is lost.
            switch (store is null ? ObjectPresence.Missing : await LookUpObjectAsync(store, name, cancellationToken).ConfigureAwait(false))
            {
                case ObjectPresence.Deleted:
                    DropConsumedCopy(topic, name);
                    return default;
                case ObjectPresence.Unknown:
                    // The broker did not say whether the object was deleted: rejecting would terminate the message and
                    // lose an update that may still be there (a broker briefly too slow to answer).
                    Logger.LogWarning("bus: object {Name} of {Topic} was not found and the broker did not answer within {Seconds} s whether it was deleted; the message is given back to the broker to try again later",
                        name, topic, Options.FetchStallTimeout.TotalSeconds);
                    return new(false, null, null, TryLater: true);
            }
            Reject(topic, $"object {name} is missing from bucket {Options.ObjectBucket}");
            return default;
        }
        catch (NatsObjException e)
        {
            Reject(topic, $"object {name} could not be read: {e.Message}");
            return default;
        }
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            Reject(topic, $"object {name}: SHA-256 mismatch (message says {expected}, object has {actual})");
            return new(false, null, name);
        }
        float[] vector;
        try
        {
            vector = DensePriorFile.FromBytes(blob).Values;
        }
        catch (InvalidInputException e)
        {
            Reject(topic, $"object {name}: {e.Message}");
            return new(false, null, name);
        }
        Interlocked.Increment(ref _objectsFetched);
        return new(true, DensePayload.Join(envelope, vector), name);
    }

    /// <summary>Reads object <paramref name="name"/> into <paramref name="buffer"/>; null when no byte arrived for
    /// <see cref="NatsBusOptions.FetchStallTimeout"/> (the fetch is then cancelled). The object store's read waits
    /// for chunks without limit, and chunks purged after it read the object's info never come.</summary>
    private async Task<ObjectMetadata?> ReadObjectAsync(INatsObjStore store, string name, MemoryStream buffer, CancellationToken cancellationToken)
    {
        using var stalled = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = store.GetAsync(name, buffer, leaveOpen: true, stalled.Token).AsTask();
        var limit = Options.FetchStallTimeout;
        var check = limit / 4;
        var seen = -1L;
        var quietSince = Stopwatch.GetTimestamp();
        while (await Task.WhenAny(reading, Task.Delay(check, cancellationToken)).ConfigureAwait(false) != reading)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Read while the store writes into it: only compared, so a stale value at worst delays the verdict.
            var length = buffer.Length;
            if (length != seen)
            {
                seen = length;
                quietSince = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(quietSince) >= limit)
            {
                await stalled.CancelAsync().ConfigureAwait(false);
                try
                {
                    // Finished just as it was given up: whole only if every byte came.
                    var info = await reading.ConfigureAwait(false);
                    return (ulong)buffer.Length == info.Size ? info : null;
                }
                catch (Exception e) when (e is OperationCanceledException or NatsException && !cancellationToken.IsCancellationRequested)
                {
                    // However the client reports a read it was told to stop (cancelled, or the size or digest
                    // mismatch of a read cut short), it stalled.
                    return null;
                }
            }
        }
        return await reading.ConfigureAwait(false);
    }

    /// <summary>What the bucket holds under an object's name: the object, its delete marker, nothing, or no answer.</summary>
    private enum ObjectPresence { There, Deleted, Missing, Unknown }

    /// <summary>Looks object <paramref name="name"/> up, deleted ones included; <see cref="ObjectPresence.Unknown"/>
    /// when the broker did not say within <see cref="NatsBusOptions.FetchStallTimeout"/>.</summary>
    private async Task<ObjectPresence> LookUpObjectAsync(INatsObjStore store, string name, CancellationToken cancellationToken)
    {
        if (BeforeObjectLookup is { } before) await before(cancellationToken).ConfigureAwait(false);
        using var asking = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        asking.CancelAfter(Options.FetchStallTimeout);
        try
        {
            var info = await store.GetInfoAsync(name, showDeleted: true, asking.Token).ConfigureAwait(false);
            return info.Deleted ? ObjectPresence.Deleted : ObjectPresence.There;
        }
        catch (NatsObjNotFoundException)
        {
            return ObjectPresence.Missing;
        }
        catch (Exception e) when (e is NatsException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Logger.LogDebug("bus: looking up object {Name} failed ({Error})", name, e.Message);
            return ObjectPresence.Unknown;
        }
    }

    /// <summary>Chunk size of objects put in the store: the server's max payload less room for the protocol,
    /// not the client's 128 KiB default, so that a 64 MB vector takes 64 stored round trips instead of 512. Never
    /// more than the max payload: a broker configured below 132 KiB refused every chunk of 128 KiB.</summary>
    private int ObjectChunkBytes => Math.Max(1024, (Connection.ServerInfo?.MaxPayload ?? 1024 * 1024) - 4 * 1024);

    /// <summary>The object store's digest <c>SHA-256=&lt;base64url&gt;</c> as lower-case hex; null when absent.</summary>
    internal static string? DigestHex(string? digest)
    {
        const string Prefix = "SHA-256=";
        if (digest is null || !digest.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var encoded = digest.AsSpan(Prefix.Length).TrimEnd('=');
        Span<byte> hash = stackalloc byte[32];
        return System.Buffers.Text.Base64Url.TryDecodeFromChars(encoded, hash, out var written) && written == 32
            ? Convert.ToHexStringLower(hash)
            : null;
    }

    private async ValueTask<(byte[] Body, string Kind, string? MessageId, string? ObjectName)> EncodeDenseAsync(string topic, object? payload, CancellationToken cancellationToken)
    {
        var (envelope, vector) = DensePayload.Split(payload, topic);
        var messageId = MessageId(envelope);
        var sequence = envelope["sequence"] is JsonValue s && WholeNumber(s) is { } seq ? seq : 0;
        // Written into a buffer of the record's exact size and used as it is: a 64 MB vector is not copied again.
        using var record = new MemoryStream((int)Math.Min(Array.MaxLength, DensePriorFile.HeaderSize + 4L * vector.Length + DensePriorFile.ChecksumSize));
        DensePriorFile.Write(record, vector, Math.Max(0, sequence));
        var blob = record.Length == record.Capacity ? record.GetBuffer() : record.ToArray();
        if (blob.Length < InlineLimitBytes)
        {
            var inline = DensePayload.FrameInline(envelope, blob);
            if (inline.Length <= InlineLimitBytes) return (inline, KindDenseInline, messageId, null);
        }

        // The bucket is shared by every prefix on the broker: without the prefix, two runs' domain-000 at sequence 1
        // overwrote (and, once acknowledged, deleted) each other's vector.
        var name = $"{Options.SubjectPrefix}/{topic}/{ObjectKey(messageId)}";
        // The store's requests wait for a lost connection to come back, without limit: a broker that is down (or died)
        // left this publish waiting for ever. It waits up to PublishTimeout, as a durable publish does.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Options.PublishTimeout);
        ObjectMetadata info;
        try
        {
            // A message of this id published before and not consumed yet holds this name: putting over it replaced the
            // vector under the stored message (its SHA-256 then mismatched and the update was rejected, while this
            // publish was dropped as a duplicate of it). This one's object takes a name of its own.
            if (messageId is not null && await ObjectExistsAsync(name, bounded.Token).ConfigureAwait(false))
                name += "/" + Guid.NewGuid().ToString("N");
            var meta = new ObjectMetadata { Name = name, Options = new MetaDataOptions { MaxChunkSize = ObjectChunkBytes } };
            info = await PutObjectAsync(meta, blob, bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NatsException($"bus: the large vector of {topic} ({blob.Length} bytes) was not stored in the object bucket {Options.ObjectBucket} within {Options.PublishTimeout.TotalSeconds:0.#} s (is the broker up?)");
        }
        Interlocked.Increment(ref _objectsPut);
        envelope[ObjectField] = new JsonObject
        {
            ["bucket"] = Options.ObjectBucket,
            ["name"] = name,
            // The digest the store computed while chunking (the same SHA-256 of the bytes): no second pass.
            ["sha256"] = DigestHex(info.Digest) ?? Convert.ToHexStringLower(SHA256.HashData(blob)),
            ["size"] = blob.Length,
        };
        return (JsonSerializer.SerializeToUtf8Bytes(envelope, WireJson.Options), KindDenseObject, messageId, name);
    }

    /// <summary>The longest message id an object's name holds as it is, in UTF-8 bytes.</summary>
    internal const int MaxObjectKeyBytes = 256;

    /// <summary>The last part of a large vector's object name: the message id, or its SHA-256 when longer than
    /// <see cref="MaxObjectKeyBytes"/> (the name travels base64-encoded in the subject of the object's metadata, and
    /// a domain id of a few thousand bytes made that subject longer than the broker's control line: the broker
    /// closed the connection at each try and the publish failed as if the broker were down); a fresh id without one.</summary>
    private static string ObjectKey(string? messageId) =>
        messageId is null ? Guid.NewGuid().ToString("N")
        : System.Text.Encoding.UTF8.GetByteCount(messageId) <= MaxObjectKeyBytes ? messageId
        : "sha256-" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(messageId)));

    /// <summary>Whether the bucket holds an object (not deleted) named <paramref name="name"/>; true when the broker
    /// answers with an error other than not found (a fresh name is always safe).</summary>
    private async Task<bool> ObjectExistsAsync(string name, CancellationToken cancellationToken)
    {
        var store = await ObjectStoreAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await store.GetInfoAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NatsObjNotFoundException)
        {
            return false;
        }
        catch (NatsException)
        {
            return true;
        }
    }

    private async Task<ObjectMetadata> PutObjectAsync(ObjectMetadata meta, byte[] blob, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var store = await ObjectStoreAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await store.PutAsync(meta, new MemoryStream(blob, writable: false), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < 8 && (e is NatsJSPublishNoResponseException || JetStreamUnavailable(e)))
            {
                // No one stores the chunks: the bucket may be gone (a broker restarted without its state, removed by
                // hand), and a cached handle would never make it again. The next try creates or finds it anew.
                if (e is NatsJSPublishNoResponseException) Interlocked.CompareExchange(ref _objectStore, null, store);
                // nats-server 2.9: of processes creating the bucket at the same moment, one can be answered with the
                // other's bucket before it stores anything, so that its first chunk finds no one (no responders), and
                // a broker busy creating streams may leave the put's own lookup unanswered. Each try is a new object.
                await Task.Delay(TimeSpan.FromMilliseconds(25 << attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The dedupe id of domain work: <c>{domain_id}:{sequence}</c>, null unless both are present.</summary>
    internal static string? MessageId(JsonObject? payload)
    {
        if (payload?["domain_id"] is not JsonValue domain || !domain.TryGetValue<string>(out var domainId)) return null;
        // It travels as the Nats-Msg-Id header, whose value cannot hold a line break or other control character: the
        // client refused every send of it, which read as a broker that never confirmed it.
        if (domainId.Any(char.IsControl))
            throw new InvalidInputException($"domain_id '{domainId.ReplaceLineEndings(" ")}': must not contain control characters (it is the message id's header value)");
        if (payload["sequence"] is not JsonValue sequence) return null;
        return WholeNumber(sequence) is { } n ? $"{domainId}:{n}" : null;
    }

    /// <summary>A sequence as a whole number, whatever numeric type an in-process payload holds it in (a JsonValue made
    /// from an int answers TryGetValue&lt;long&gt; with false: such a dense update got no message id, so a retried
    /// publish was stored twice, and its vector's record the round 0); null when it is none.</summary>
    private static long? WholeNumber(JsonValue value)
    {
        // long, ulong and decimal exactly (past 2^53 a double rounds); every other numeric type through JsonRead.NumberOf.
        if (value.TryGetValue<long>(out var n)) return n;
        if (value.TryGetValue<ulong>(out var ul)) return ul <= long.MaxValue ? (long)ul : null;
        if (value.TryGetValue<decimal>(out var m)) return m == decimal.Truncate(m) && m >= long.MinValue && m <= long.MaxValue ? (long)m : null;
        if (value.GetValueKind() != JsonValueKind.Number) return null;
        var d = JsonRead.NumberOf(value);
        return double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 9.2e18 ? (long)d : null;
    }

    /// <summary>Forgets that the stream of <paramref name="topic"/> exists (the broker came back without it).</summary>
    internal void ForgetStream(string topic) => _streams.TryRemove(topic, out _);

    internal Task EnsureStreamAsync(string topic, CancellationToken cancellationToken)
    {
        var lazy = _streams.GetOrAdd(topic, t => new Lazy<Task>(() => CreateStreamAsync(t)));
        var task = lazy.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            _streams.TryRemove(new KeyValuePair<string, Lazy<Task>>(topic, lazy));
            return EnsureStreamAsync(topic, cancellationToken);
        }
        return task.WaitAsync(cancellationToken);
    }

    /// <summary>The broker's own default duplicate window, kept where the publish timeout is shorter.</summary>
    private static readonly TimeSpan MinDuplicateWindow = TimeSpan.FromMinutes(2);

    private async Task CreateStreamAsync(string topic)
    {
        // Work-queue retention: a message stays until it is acknowledged, then the broker frees it.
        var config = new StreamConfig(NatsSubjects.StreamName(Options.SubjectPrefix, topic), [NatsSubjects.Subject(Options.SubjectPrefix, topic)])
        {
            Storage = StreamConfigStorage.File,
            Retention = StreamConfigRetention.Workqueue,
            // A publish is sent again for up to PublishTimeout after its first send: a resend later than the window
            // was stored a second time. (A stream another process created keeps the window that process gave it.)
            DuplicateWindow = Options.PublishTimeout > MinDuplicateWindow ? Options.PublishTimeout : MinDuplicateWindow,
        };
        // A broker that has just restarted takes a while to serve JetStream again: keep asking, as a publish waits
        // through an outage, up to PublishTimeout. Another process creating the same stream at the same moment
        // can make the broker refuse this creation; asked again, the stream exists and the update goes through.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(50);
        var races = 0;
        while (true)
        {
            try
            {
                // A stream that is not there is created, never updated: a creation fails where another process has
                // just created it (a lost race, asked again), so no prefix takes a stream another one made.
                if (await StreamOfThisPrefixExistsAsync(config).ConfigureAwait(false))
                {
                    await JetStream.CreateOrUpdateStreamAsync(config, _stopping.Token).ConfigureAwait(false);
                }
                else
                {
                    if (AfterStreamLookup is { } between) await between(_stopping.Token).ConfigureAwait(false);
                    try
                    {
                        await JetStream.CreateStreamAsync(config, _stopping.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        if (AfterStreamCreation is { } created) await created(_stopping.Token).ConfigureAwait(false);
                    }
                    // nats-server 2.9 looks for a stream of that name and records the new one under separate locks:
                    // two creations at the same moment can both succeed, the later one taking the name. Look again,
                    // so that the process whose stream lost the name is refused rather than publishing into a
                    // stream nobody reads. (A look made before the other creation lands still passes: the broker's
                    // race, narrowed here, not closed.)
                    if (!await StreamOfThisPrefixExistsAsync(config).ConfigureAwait(false))
                    {
                        if (++races > 3) throw new NatsException($"bus: the stream {config.Name} vanished right after it was created, {races} times");
                        continue;
                    }
                }
                return;
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested
                && ((JetStreamUnavailable(e) && System.Diagnostics.Stopwatch.GetElapsedTime(started) + delay < Options.PublishTimeout)
                    || (LostCreationRace(e) && ++races <= 3)))
            {
                Logger.LogDebug("bus: creating the stream of {Topic} failed ({Error}); asking again", topic, e.Message);
                await Task.Delay(delay, _stopping.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond));
            }
        }
    }

    /// <summary>Tests only: awaited after a lookup found no stream and before it is created (two processes that both
    /// found none). Null in use.</summary>
    internal Func<CancellationToken, Task>? AfterStreamLookup { get; set; }

    /// <summary>Tests only: awaited after a creation returned or failed, before the stream is looked at again (two
    /// processes that both created one). Null in use.</summary>
    internal Func<CancellationToken, Task>? AfterStreamCreation { get; set; }

    /// <summary>
    /// Stream names fold case and turn '.' and '-' into '_' (<see cref="NatsSubjects.StreamName"/>), so two valid
    /// prefixes (run-1 and run_1) can name one stream: updating it to this prefix's subject would take it, and the
    /// durable consumer in it, from the other run, whose work then went nowhere or into this run. Refused instead.
    /// Returns whether the stream exists (with this prefix's subject).
    /// </summary>
    private async Task<bool> StreamOfThisPrefixExistsAsync(StreamConfig config)
    {
        INatsJSStream existing;
        try
        {
            existing = await JetStream.GetStreamAsync(config.Name!, cancellationToken: _stopping.Token).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return false;
        }
        var subjects = existing.Info.Config.Subjects ?? [];
        if (!subjects.SequenceEqual(config.Subjects ?? []))
        {
            // Prefixes are one token: a subject under this prefix is another topic of this deployment, not another prefix.
            var own = Options.SubjectPrefix + ".";
            if (subjects.FirstOrDefault(s => s.StartsWith(own, StringComparison.Ordinal)) is { } sibling)
                throw new InvalidInputException(
                    $"topic '{config.Subjects!.First()[own.Length..]}': its stream {config.Name} already carries topic '{sibling[own.Length..]}' of prefix '{Options.SubjectPrefix}'; " +
                    "stream names ignore case and turn '.' and '-' into '_', so two durable topics must differ otherwise");
            throw new InvalidInputException(
                $"prefix '{Options.SubjectPrefix}': the broker's stream {config.Name} belongs to another prefix (subjects {string.Join(", ", subjects)}); " +
                "stream names ignore case and turn '.' and '-' into '_', so choose a prefix that differs from it otherwise");
        }
        return true;
    }

    /// <summary>The broker's answers to the second of two simultaneous creations of one stream: "subjects overlap
    /// with an existing stream" (10065) or "stream name already in use" (10058). A lasting conflict (another
    /// stream that really owns the subjects) fails again on the next tries and is thrown then.</summary>
    private static bool LostCreationRace(Exception e) => e is NatsJSApiException { Error.ErrCode: 10065 or 10058 };

    /// <summary>JetStream not answering (yet): no responder, no reply in time, or "not ready" (503).</summary>
    private static bool JetStreamUnavailable(Exception e) =>
        e is NatsJSApiNoResponseException or NatsNoRespondersException or NatsNoReplyException or NatsTimeoutException or TimeoutException
        || e is NatsJSApiException { Error.Code: 503 };

    /// <summary>The shared bucket of large vectors, created on first use. A subscriber of a dense topic creates it when
    /// it subscribes: nats-server 2.9 can crash (a nil dereference in its message get) when several processes create
    /// the bucket at the same moment and store into it at once — workers starting together on a fresh broker — and
    /// a bucket that already exists is only looked up.</summary>
    internal async ValueTask<INatsObjStore> ObjectStoreAsync(CancellationToken cancellationToken)
    {
        if (_objectStore is { } ready) return ready;
        await _objectStoreGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_objectStore is { } made) return made;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return _objectStore = await _objects.CreateObjectStoreAsync(
                        new NatsObjConfig(Options.ObjectBucket) { MaxAge = Options.ObjectMaxAge, Storage = NatsObjStorageType.File },
                        cancellationToken).ConfigureAwait(false);
                }
                catch (NatsJSApiException e) when (e.Error.ErrCode == 10058)
                {
                    // The bucket is shared by every run on the broker and exists with other settings (another max age,
                    // made by another version or tool): use it as it is; creating it again with this process's
                    // settings is refused for as long as it exists, and a receiver took that refusal for a lost
                    // consumer, for ever.
                    Logger.LogWarning("bus: the object bucket {Bucket} exists with other settings than this process's ({Error}); using it as it is", Options.ObjectBucket, e.Message);
                    return _objectStore = await _objects.GetObjectStoreAsync(Options.ObjectBucket, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (attempt < 8 && (LostCreationRace(e) || JetStreamUnavailable(e)))
                {
                    // The second of two processes creating the bucket at the same moment (workers starting together) is
                    // answered "subjects overlap" (10058, other settings, is taken above), and a broker busy creating
                    // streams may leave the request unanswered: asked again, the bucket is there.
                    Logger.LogDebug("bus: creating the object bucket {Bucket} failed ({Error}); asking again", Options.ObjectBucket, e.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _objectStoreGate.Release();
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
