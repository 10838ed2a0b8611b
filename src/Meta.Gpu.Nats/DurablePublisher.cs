using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace Meta.Gpu.Nats;

/// <summary>
/// Durable publishes kept in flight: each message goes out with its own reply subject and the broker's stored
/// acknowledgement is collected in the background, so a publisher does not wait one broker round trip per
/// message. Up to <see cref="NatsBusOptions.PublishWindow"/> messages are unconfirmed at a time (a publisher
/// waits beyond that); whatever is not confirmed within <see cref="NatsBusOptions.PublishAckWait"/>, or was
/// sent before a reconnect, is sent again in its original order with the same <c>Nats-Msg-Id</c>, which the
/// stream's duplicate window stores once.
/// </summary>
/// <remarks>
/// <para>Decision (the design is silent): <c>PublishAsync</c> on a durable topic returns once the message is
/// written to the connection, not once it is stored, as the in-process bus returns once a message is queued.
/// <c>WaitForIdleAsync</c> and the shutdown drain wait until every durable publish is confirmed stored. A message
/// not confirmed within <see cref="NatsBusOptions.PublishTimeout"/> of its first send, or refused by the stream, is
/// given up: an error log line, <see cref="NatsBusStats.PublishFailed"/>, and a <see cref="NatsException"/> from
/// the next <c>PublishAsync</c> or <c>WaitForIdleAsync</c> of this bus. A publish cancelled while being written
/// may still be stored (as with any request whose reply is abandoned). While the broker is away the client holds
/// new writes until it reconnects, so a publisher waits through an outage rather than failing.</para>
/// <para>Order: messages of one publisher are written in call order on one connection, so the stream stores them
/// in that order. Only when the broker is lost mid-pipeline can a message written after the loss reach the new
/// connection before the resend of an earlier one; the receiver then sees an older sequence of the same domain
/// after a newer one and ignores it as not newer (DESIGN §10), as it would a superseded pack.</para>
/// </remarks>
internal sealed class DurablePublisher
{
    private const string MessageIdHeader = "Nats-Msg-Id";

    private readonly NatsEventBus _bus;
    private readonly SemaphoreSlim _window;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, PendingPublish> _pending = [];
    private readonly Queue<PendingPublish> _order = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private readonly long _ackWaitTicks;
    private readonly long _giveUpTicks;
    private string _inbox = "";
    private INatsSub<byte[]>? _acks;
    private Task _reader = Task.CompletedTask;
    private Task _monitor = Task.CompletedTask;
    private volatile bool _started;
    private volatile bool _resendRequested;
    private volatile TaskCompletionSource? _resending;
    private long _nextId;
    private int _epoch;
    private Exception? _failure;

    public DurablePublisher(NatsEventBus bus)
    {
        _bus = bus;
        _window = new SemaphoreSlim(bus.Options.PublishWindow, bus.Options.PublishWindow);
        _ackWaitTicks = (long)(bus.Options.PublishAckWait.TotalSeconds * Stopwatch.Frequency);
        _giveUpTicks = (long)(bus.Options.PublishTimeout.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Durable publishes written but not yet confirmed stored (or given up).</summary>
    public int InFlight
    {
        get
        {
            lock (_gate) return _pending.Count;
        }
    }

    /// <summary>The connection opened again: what was sent before may never be confirmed, send it again now.</summary>
    public void Reconnected()
    {
        Interlocked.Increment(ref _epoch);
        _resendRequested = true;
    }

    /// <summary>Writes one durable message and returns; the broker's confirmation (stored) is awaited in the
    /// background. <paramref name="messageId"/> (<c>Nats-Msg-Id</c>) makes a resend stored once.
    /// <paramref name="objectName"/>: the object a dense message's vector waits in, deleted when the stream drops the
    /// message as a duplicate of one stored before by another publish (sent once, so no copy of it was stored).</summary>
    public async ValueTask PublishAsync(string topic, string subject, byte[] body, string? kind, string messageId, CancellationToken cancellationToken, string? objectName = null)
    {
        if (!_started) await StartAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfFailed();
        // Behind a resend, so that a new message does not overtake older ones being sent again.
        if (_resending is { } resending) await resending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        var publish = new PendingPublish(Interlocked.Increment(ref _nextId), topic, subject, body, kind, messageId, Stopwatch.GetTimestamp()) { ObjectName = objectName };
        lock (_gate)
        {
            _pending.Add(publish.Id, publish);
            _order.Enqueue(publish);
        }
        try
        {
            await SendAsync(publish, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsPayloadTooLargeException e)
        {
            // Never sendable: sending it again until the give-up only ended in "not confirmed by the broker".
            Leave(publish, failure: null);
            _bus.PublishFailed(topic, e);
            throw new InvalidInputException($"bus: durable publish on {subject} (message id {messageId}): {e.Message}", e);
        }
        catch (Exception e) when (e is NatsException or TimeoutException && !_stop.IsCancellationRequested)
        {
            // Not written (the connection is away): it stays pending and the monitor sends it again.
            _bus.Logger.LogDebug("bus: durable publish on {Subject} not written ({Error}); it will be sent again", subject, e.Message);
            _resendRequested = true;
        }
    }

    /// <summary>Throws (once) the failure of a durable publish given up since the last call.</summary>
    public void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is not null && Interlocked.Exchange(ref _failure, null) is { } failure)
            throw failure;
    }

    /// <summary>Waits until every durable publish is confirmed or given up (at most <see cref="NatsBusOptions.PublishTimeout"/>
    /// after its first send), then stops the background work.</summary>
    public async Task FlushAndStopAsync(bool abandon)
    {
        if (!abandon && _started)
        {
            // Bounded: the monitor gives each message up PublishTimeout after its first send at the latest.
            var deadline = Stopwatch.GetTimestamp() + _giveUpTicks + 2 * _ackWaitTicks;
            var delay = 1;
            while (InFlight > 0 && !_stop.IsCancellationRequested && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(delay).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 20);
            }
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_reader, _monitor).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping is the point.
        }
        if (_acks is not null)
        {
            try
            {
                await _acks.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or ObjectDisposedException)
            {
                // The connection is already gone; the server drops the subscription with it.
            }
        }
        var lost = InFlight;
        if (lost > 0 && !abandon)
            _bus.Logger.LogError("bus: {Count} durable publishes were never confirmed by the broker before the bus stopped", lost);
    }

    private async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        await _startGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_started) return;
            // Under the inbox prefix (what reply permissions allow) but outside this connection's own muxed inbox,
            // which the client routes by exact subject and would not hand to a wildcard subscription.
            _inbox = _bus.Connection.Opts.InboxPrefix + "." + Guid.NewGuid().ToString("N");
            // Every confirmation fits: never more in flight than the window, so nothing is dropped here.
            // The subscription lives as long as the publisher, not as the first publish's call: NATS.Net ends a
            // subscription when the token it was made with is cancelled, and the caller's (a worker's stop, a
            // deadline) then left every later publish of this bus unconfirmed until its give-up.
            _acks = await _bus.Connection.SubscribeCoreAsync<byte[]>(_inbox + ".*", cancellationToken: _stop.Token).ConfigureAwait(false);
            _reader = Task.Run(() => ReadAcksAsync(_acks, _stop.Token));
            _monitor = Task.Run(() => MonitorAsync(_stop.Token));
            _started = true;
        }
        finally
        {
            _startGate.Release();
        }
    }

    private ValueTask SendAsync(PendingPublish publish, CancellationToken cancellationToken)
    {
        var headers = new NatsHeaders { [MessageIdHeader] = publish.MessageId };
        if (publish.Kind is not null) headers[NatsEventBus.KindHeader] = publish.Kind;
        publish.Epoch = Volatile.Read(ref _epoch);
        Interlocked.Increment(ref publish.Sends);
        Volatile.Write(ref publish.SentAt, Stopwatch.GetTimestamp());
        return _bus.Connection.PublishAsync(publish.Subject, publish.Body, headers, replyTo: _inbox + "." + publish.Id.ToString(CultureInfo.InvariantCulture), cancellationToken: cancellationToken);
    }

    private async Task ReadAcksAsync(INatsSub<byte[]> acks, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var msg in acks.Msgs.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var dot = msg.Subject.LastIndexOf('.');
                if (!long.TryParse(msg.Subject.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var id)) continue;
                PendingPublish? publish;
                lock (_gate) _pending.TryGetValue(id, out publish);
                // Null: the confirmation of a resend whose first copy was confirmed already.
                if (publish is null) continue;
                if (msg.HasNoResponders)
                {
                    // No stream listens (the broker came back without it): recreate it and send again.
                    publish.NeedsStream = true;
                    _resendRequested = true;
                    continue;
                }
                var ack = PublishAck.Parse(msg.Data);
                if (ack.Stored)
                {
                    if (ack.Duplicate) _bus.CountDuplicate();
                    // Sent once: the stored message is another publish's, which does not refer to this one's object.
                    if (ack.Duplicate && publish.ObjectName is { } orphan && Volatile.Read(ref publish.Sends) == 1 && Complete(publish))
                        _ = _bus.DeleteUnusedObjectAsync(orphan);
                    else
                        Complete(publish);
                }
                else if (ack.Code == 503)
                {
                    // JetStream is not ready yet (restarting, or a leader moving): send again later.
                    _resendRequested = true;
                }
                else
                {
                    Fail(publish, $"the stream refused it: {ack.Error}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private async Task MonitorAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    if (NeedsResend()) await ResendAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    _bus.Logger.LogDebug("bus: sending durable publishes again failed ({Error}); retrying", e.Message);
                    _resendRequested = true;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    // Unexpected, and reported as such; the loop goes on, because it alone gives up what the
                    // broker never confirms: without it WaitForIdle would wait forever, with nothing in the log.
                    _bus.Logger.LogError(e, "bus: sending durable publishes again failed unexpectedly ({Error}); retrying", e.Message);
                    _resendRequested = true;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private bool NeedsResend()
    {
        var now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                _resendRequested = false;
                return false;
            }
            var oldest = _order.Peek();
            return _resendRequested || oldest.Epoch != Volatile.Read(ref _epoch) || now - Volatile.Read(ref oldest.SentAt) > _ackWaitTicks;
        }
    }

    /// <summary>Sends every unconfirmed message again, oldest first; new publishes wait meanwhile.</summary>
    private async Task ResendAsync(CancellationToken cancellationToken)
    {
        var resending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _resending = resending;
        try
        {
            _resendRequested = false;
            PendingPublish[] unconfirmed;
            lock (_gate) unconfirmed = [.. _order];
            // Give up what is too old first, so that a send stuck on a lost connection cannot delay it.
            var now = Stopwatch.GetTimestamp();
            foreach (var publish in unconfirmed)
                if (!publish.Done && now - publish.FirstSent > _giveUpTicks)
                    Fail(publish, FormattableString.Invariant($"not confirmed by the broker within {_bus.Options.PublishTimeout.TotalSeconds:0.#} s"));
            var sent = 0;
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(_bus.Options.PublishAckWait);
            foreach (var publish in unconfirmed)
            {
                if (publish.Done) continue;
                if (publish.NeedsStream)
                {
                    _bus.ForgetStream(publish.Topic);
                    await _bus.EnsureStreamAsync(publish.Topic, bounded.Token).ConfigureAwait(false);
                    publish.NeedsStream = false;
                }
                await SendAsync(publish, bounded.Token).ConfigureAwait(false);
                sent++;
            }
            if (sent > 0) _bus.Logger.LogDebug("bus: sent {Count} unconfirmed durable publishes again", sent);
        }
        finally
        {
            _resending = null;
            resending.TrySetResult();
        }
    }

    private bool Complete(PendingPublish publish) => Leave(publish, failure: null);

    /// <summary>Gives the publish up, unless a confirmation took it out of the pending set first: a message the
    /// broker stored is never reported lost.</summary>
    private void Fail(PendingPublish publish, string reason)
    {
        var failure = new NatsException($"bus: durable publish on {publish.Subject} (message id {publish.MessageId}) failed: {reason}");
        if (Leave(publish, failure)) _bus.PublishFailed(publish.Topic, failure);
    }

    /// <summary>Takes the publish out of the pending set (false when it had left already); a failure is recorded
    /// under the same lock, so that whoever then sees nothing in flight also sees the failure.</summary>
    private bool Leave(PendingPublish publish, NatsException? failure)
    {
        lock (_gate)
        {
            if (!_pending.Remove(publish.Id)) return false;
            if (failure is not null) Volatile.Write(ref _failure, failure);
            publish.Done = true;
            while (_order.TryPeek(out var head) && head.Done) _order.Dequeue();
        }
        _window.Release();
        return true;
    }

    private sealed class PendingPublish(long id, string topic, string subject, byte[] body, string? kind, string messageId, long firstSent)
    {
        public long Id { get; } = id;

        public string Topic { get; } = topic;

        public string Subject { get; } = subject;

        public byte[] Body { get; } = body;

        public string? Kind { get; } = kind;

        public string MessageId { get; } = messageId;

        public long FirstSent { get; } = firstSent;

        public long SentAt;

        public int Epoch;

        /// <summary>How many times it was written (or tried).</summary>
        public int Sends;

        public string? ObjectName { get; init; }

        public bool Done;

        public volatile bool NeedsStream;
    }

    /// <summary>The broker's reply to a JetStream publish: <c>{"stream":..,"seq":..,"duplicate":true}</c> or
    /// <c>{"error":{"code":..,"description":..}}</c>.</summary>
    private readonly record struct PublishAck(bool Stored, bool Duplicate, int Code, string? Error)
    {
        public static PublishAck Parse(byte[]? data)
        {
            if (data is null || data.Length == 0) return new(false, false, 503, "empty reply");
            try
            {
                var reader = new Utf8JsonReader(data);
                bool stored = false, duplicate = false;
                var code = 0;
                string? error = null;
                var depth = 0;
                string? property = null;
                while (reader.Read())
                {
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.StartObject:
                            if (depth == 1 && property == "error") error = "";
                            depth++;
                            break;
                        case JsonTokenType.EndObject:
                            depth--;
                            break;
                        case JsonTokenType.PropertyName:
                            property = reader.GetString();
                            break;
                        case JsonTokenType.Number when depth == 1 && property == "seq":
                            stored = true;
                            break;
                        case JsonTokenType.Number when depth == 2 && error is not null && property == "code":
                            code = reader.GetInt32();
                            break;
                        case JsonTokenType.String when depth == 2 && error is not null && property == "description":
                            error = reader.GetString();
                            break;
                        case JsonTokenType.True when depth == 1 && property == "duplicate":
                            duplicate = true;
                            break;
                        case JsonTokenType.StartArray:
                            reader.Skip();
                            break;
                    }
                }
                return error is not null ? new(false, false, code, error) : new(stored, duplicate, 0, stored ? null : "reply without a sequence");
            }
            catch (JsonException e)
            {
                return new(false, false, 0, $"unreadable reply ({e.Message})");
            }
        }
    }
}
