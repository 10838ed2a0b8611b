using Meta.Gpu.Runtime;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Meta.Gpu.Nats;

/// <summary>
/// A durable topic (domain work): a JetStream stream with a durable pull consumer. A message is acknowledged
/// only once every local handler has finished with it, so a process killed mid-handling loses nothing: the
/// broker redelivers after <see cref="NatsBusOptions.AckWait"/>.
/// </summary>
internal sealed class DurableTopicFeed(NatsEventBus bus, string topic) : TopicFeed(bus, topic)
{
    private INatsJSConsumer? _consumer;

    public override int Buffered => 0;

    protected override async Task OpenAsync(CancellationToken cancellationToken)
    {
        await Bus.EnsureStreamAsync(Topic, cancellationToken).ConfigureAwait(false);
        if (Bus.Options.IsDense(Topic))
        {
            // Made here so that domains starting later only look it up (see ObjectStoreAsync); best effort, since
            // small vectors travel inline and never need it, and a put or fetch asks again.
            try
            {
                await Bus.ObjectStoreAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                Bus.Logger.LogWarning("bus: creating the object bucket {Bucket} for {Topic} failed ({Error}); large vectors need it, small ones travel inline", Bus.Options.ObjectBucket, Topic, e.Message);
            }
        }
        try
        {
            _consumer = await CreateConsumerAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode is WorkQueueConsumerNotUnique or WorkQueueMultipleUnfiltered)
        {
            // The broker's words ("filtered consumer not unique on workqueue stream") name neither the topic nor
            // the consumer in the way, nor what to do about it.
            throw new InvalidInputException(await ConsumerConflictAsync(cancellationToken).ConfigureAwait(false), e);
        }
        Bus.ConsumerCreated(Topic);
    }

    /// <summary>nats-server's refusal of a second consumer filtering the same subject of a work-queue stream.</summary>
    private const int WorkQueueConsumerNotUnique = 10100;

    /// <summary>nats-server's refusal of a second consumer without a filter on a work-queue stream.</summary>
    private const int WorkQueueMultipleUnfiltered = 10099;

    /// <summary>The refusal of this topic's consumer in the user's words: the prefix and topic, the consumer that
    /// already reads them (asked of the broker; left out when it does not answer), and what to do.</summary>
    private async Task<string> ConsumerConflictAsync(CancellationToken cancellationToken)
    {
        var stream = NatsSubjects.StreamName(Bus.Options.SubjectPrefix, Topic);
        var others = new List<string>();
        try
        {
            await foreach (var name in Bus.JetStream.ListConsumerNamesAsync(stream, cancellationToken).ConfigureAwait(false))
                if (name != Bus.Options.DurableName) others.Add(name);
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            Bus.Logger.LogDebug("bus: listing the consumers of {Stream} failed ({Error})", stream, e.Message);
        }
        var who = others.Count switch
        {
            0 => "another aggregator's durable consumer",
            1 => $"another aggregator's durable consumer '{others[0]}'",
            _ => $"other aggregators' durable consumers {string.Join(", ", others.Select(o => $"'{o}'"))}",
        };
        // A durable consumer outlives its process (a killed bus demo resumes through it): stopping the other
        // aggregator is not always enough, so the way to delete it is named too.
        var remove = others.Count switch
        {
            0 => "delete it",
            1 => $"delete it (nats consumer rm {stream} {others[0]})",
            _ => "delete them",
        };
        return $"prefix '{Bus.Options.SubjectPrefix}': {Topic} is already read by {who} (stream {stream} takes one consumer per topic, " +
            $"and a durable consumer stays on the broker after its process stops); stop that aggregator or let its run complete, {remove}, " +
            "or run this one on another --prefix";
    }

    private ValueTask<INatsJSConsumer> CreateConsumerAsync(CancellationToken cancellationToken) =>
        Bus.JetStream.CreateOrUpdateConsumerAsync(
            NatsSubjects.StreamName(Bus.Options.SubjectPrefix, Topic),
            new ConsumerConfig(Bus.Options.DurableName)
            {
                AckPolicy = ConsumerConfigAckPolicy.Explicit,
                AckWait = Bus.Options.AckWait,
                DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                FilterSubject = Subject,
                // In long: a consume batch past int.MaxValue / 4 overflowed to a negative product and left the
                // consumer at 1000 pending, fewer than one pull asks for.
                MaxAckPending = Math.Max(1000L, Bus.Options.ConsumeBatch * 4L),
            },
            cancellationToken);

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        // Short pull expiry: a pull request lost with a restarted broker is renewed within seconds, not the default 30 s.
        var batch = Bus.Options.IsDense(Topic) ? Bus.Options.DenseConsumeBatch : Bus.Options.ConsumeBatch;
        var consumeOptions = new NatsJSConsumeOpts { MaxMsgs = batch, Expires = TimeSpan.FromSeconds(2), IdleHeartbeat = TimeSpan.FromSeconds(1) };
        var keeping = KeepHeldMessagesAsync(cancellationToken);
        try
        {
            await ConsumeAsync(consumeOptions, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await keeping.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping is the point.
            }
        }
    }

    private async Task ConsumeAsync(NatsJSConsumeOpts consumeOptions, CancellationToken cancellationToken)
    {
        // The client notices a pull unanswered for twice its heartbeat interval (see NatsJSConsume).
        var silence = new Silence(consumeOptions.IdleHeartbeat!.Value * 2);
        while (!cancellationToken.IsCancellationRequested)
        {
            using var consuming = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            silence.Heard();
            var options = consumeOptions with
            {
                NotificationHandler = (notification, _) =>
                {
                    if (notification is NatsJSTimeoutNotification && silence.Missed() >= Bus.Options.ConsumeStallTimeout) consuming.Cancel();
                    return Task.CompletedTask;
                },
            };
            try
            {
                // Ended by `consuming` (a stall) the enumeration just stops; the outer token still stops everything.
                await foreach (var msg in _consumer!.ConsumeAsync<byte[]>(opts: options, cancellationToken: consuming.Token).ConfigureAwait(false))
                {
                    silence.Heard();
                    Bus.DispatchStarted();
                    try
                    {
                        await HandleAsync(msg, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        Bus.DispatchFinished();
                    }
                }
                if (consuming.IsCancellationRequested && !cancellationToken.IsCancellationRequested) await RecoverFromStallAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or ObjectDisposedException or NatsException)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                // The consumer went away (broker restarted without its state, or deleted): recreate it and go on.
                Bus.Logger.LogWarning("bus: durable consumer of {Topic} stopped ({Error}); recreating it", Topic, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
                try
                {
                    await Bus.EnsureStreamAsync(Topic, cancellationToken).ConfigureAwait(false);
                    _consumer = await CreateConsumerAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception retry) when (retry is NatsException or TimeoutException)
                {
                    Bus.Logger.LogWarning("bus: recreating the consumer of {Topic} failed ({Error}); retrying", Topic, retry.Message);
                }
            }
        }
    }

    /// <summary>
    /// The pulls went unanswered for <see cref="NatsBusOptions.ConsumeStallTimeout"/>: not even the idle heartbeats
    /// that a working broker sends every second of a pull. Seen with nats-server 2.9.10 when two processes create
    /// the stream at the same moment: the second is answered with the first one's stream before that stream can
    /// send anything, and a consumer created on it then delivers every message, heartbeat and expiry notice into
    /// nothing, for good, while counting them delivered (redelivered after each ack wait, again into nothing).
    /// Creating it again only updates it; it has to be deleted. Done only where the broker still answers a lookup
    /// of the consumer (not when it is away or frozen: then the pulls resume with it) and the consumer is still the
    /// one this feed knew (another process of the prefix may have replaced it already).
    /// </summary>
    private async Task RecoverFromStallAsync(CancellationToken cancellationToken)
    {
        var known = _consumer!.Info.Created;
        // Every process of the prefix pulls from the broken consumer and notices at about the same moment: a random
        // pause lets one of them replace it first, and the others then find a consumer they did not know.
        await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(0, 2000)), cancellationToken).ConfigureAwait(false);
        using var asking = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        asking.CancelAfter(Bus.Options.ConsumeStallTimeout);
        try
        {
            bool broken;
            try
            {
                await _consumer.RefreshAsync(asking.Token).ConfigureAwait(false);
                broken = _consumer.Info.Created == known;
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                // Another process of the prefix deleted it and has not made it again yet.
                broken = false;
            }
            if (broken)
            {
                Bus.Logger.LogWarning("bus: the durable consumer of {Topic} answered no pull for {Seconds} s while the broker answers; deleting and recreating it (messages it handed out are offered again)",
                    Topic, Bus.Options.ConsumeStallTimeout.TotalSeconds);
                try
                {
                    await Bus.JetStream.DeleteConsumerAsync(_consumer.Info.StreamName, _consumer.Info.Name, asking.Token).ConfigureAwait(false);
                }
                catch (NatsJSApiException e) when (e.Error.Code == 404)
                {
                    Bus.Logger.LogDebug("bus: the broken consumer of {Topic} was already deleted by another process", Topic);
                }
            }
            _consumer = await CreateConsumerAsync(asking.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Away or frozen: the pulls are renewed as it comes back, and a consumer missing then fails them and is
            // created again by the consume loop.
            // A cancelled ask says only "A task was canceled.": name what happened instead.
            var error = e is NatsException ? e.Message : FormattableString.Invariant($"the broker answered nothing within {Bus.Options.ConsumeStallTimeout.TotalSeconds} s");
            Bus.Logger.LogWarning("bus: the durable consumer of {Topic} answered no pull for {Seconds} s; replacing it failed ({Error}); pulling again",
                Topic, Bus.Options.ConsumeStallTimeout.TotalSeconds, error);
        }
    }

    /// <summary>How long the pulls of a consume have heard nothing from the broker, told by the client's missed
    /// heartbeat notices: while nothing arrives its timer fires every <paramref name="notice"/>; anything that
    /// arrives (a message, a heartbeat, an expiry notice) restarts the timer, so a longer gap between two notices
    /// means the broker was heard in between.</summary>
    private sealed class Silence(TimeSpan notice)
    {
        private readonly Lock _gate = new();
        private long _since;
        private long _last;

        public void Heard()
        {
            lock (_gate) _since = _last = 0;
        }

        /// <summary>At a missed-heartbeat notice: how long nothing has been heard.</summary>
        public TimeSpan Missed()
        {
            lock (_gate)
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                // Twice the period: a loaded machine runs the client's timer late, which must not restart the count.
                if (_since == 0 || System.Diagnostics.Stopwatch.GetElapsedTime(_last, now) > notice * 2)
                    _since = now - (long)(notice.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
                _last = now;
                return System.Diagnostics.Stopwatch.GetElapsedTime(_since, now);
            }
        }
    }

    private async ValueTask HandleAsync(INatsJSMsg<byte[]> msg, CancellationToken cancellationToken)
    {
        if (msg.Metadata is { NumDelivered: > 1 }) Bus.CountRedelivered();
        var decoded = NatsEventBus.IsDenseObject(msg.Headers)
            ? await DecodeInProgressAsync(msg, cancellationToken).ConfigureAwait(false)
            : await Bus.DecodeAsync(Topic, msg.Headers, msg.Data, cancellationToken).ConfigureAwait(false);
        if (decoded.TryLater)
        {
            // Its object could not be read now but is still there: the broker offers it again after the ack wait,
            // and the messages behind it go on meanwhile.
            await msg.NakAsync(delay: Bus.Options.AckWait, cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }
        if (!decoded.Ok)
        {
            // Rejected (logged and counted by the decoder): terminate it, a corrupted message never heals. Its object
            // (when the object was what failed) is never fetched again: deleted, not left for the bucket's max age.
            await msg.AckTerminateAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (decoded.ObjectName is { } rejected) await Bus.DeleteUnusedObjectAsync(rejected).ConfigureAwait(false);
            return;
        }
        // Only the name is captured: a handler may hold the acknowledgement for a long time, and capturing the
        // decoded result would keep its whole vector alive with it.
        var objectName = decoded.ObjectName;
        var dispatched = await DispatchAsync(
            new BusEvent(Topic, decoded.Payload),
            handled => Bus.SettleAsync(Topic, msg, objectName, handled),
            cancellationToken,
            progress: token => new ValueTask(msg.AckProgressAsync(cancellationToken: token).AsTask())).ConfigureAwait(false);
        if (!dispatched)
            // Nobody here any more (the last subscriber left meanwhile): give it back for the next consumer.
            await msg.NakAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Decodes a message whose vector waits in the object store, telling the broker every half
    /// <see cref="NatsBusOptions.AckWait"/> that the message is in progress. Fetching and checking a large vector
    /// on a busy machine can outlast a short ack wait; the broker would then deliver the message again while the
    /// first fetch runs, and again, each copy fetching the object anew (seen: 16 MB with a 1 s wait beside other
    /// work, never idle in 120 s). A process that dies stops sending these, so the broker still redelivers its
    /// messages after the wait.
    /// </summary>
    private async ValueTask<NatsEventBus.Decoded> DecodeInProgressAsync(INatsJSMsg<byte[]> msg, CancellationToken cancellationToken)
    {
        using var fetched = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var decoding = Bus.DecodeAsync(Topic, msg.Headers, msg.Data, cancellationToken).AsTask();
        var interval = await BrokerAckWaitAsync(cancellationToken).ConfigureAwait(false) / 2;
        while (await Task.WhenAny(decoding, Task.Delay(interval, fetched.Token)).ConfigureAwait(false) != decoding)
        {
            try
            {
                await msg.AckProgressAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                // The broker may redeliver; the decode goes on, and a redelivered copy is recognised downstream.
                Bus.Logger.LogWarning("bus: telling the broker that a message of {Topic} is in progress failed ({Error})", Topic, e.Message);
            }
        }
        await fetched.CancelAsync().ConfigureAwait(false);
        return await decoding.ConfigureAwait(false);
    }

    /// <summary>
    /// Tells the broker every half ack wait that each message a handler holds (the agent keeps a pending update's
    /// acknowledgement until the round that applies it has saved) is still in progress. Without it the broker
    /// delivered every held message again each ack wait: each copy was held with the original, a whole message
    /// each, so memory grew by one vector per ack wait per pending domain until the next round (a soak: 1.5 MB a
    /// copy of an 800 KB update), and a redelivered dense copy could fetch an object that the original's
    /// acknowledgement then deleted. Messages a subscriber still has queued or is handling are told about too: the
    /// ack wait runs from the delivery, so those waiting behind a slow handler, or whose handler outlasts the wait,
    /// were delivered again to this same process, each copy queued and handled after the original (and a dense copy
    /// fetched again). A process that dies or hangs stops telling, so the broker redelivers its messages after the
    /// wait as before.
    /// </summary>
    private async Task KeepHeldMessagesAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // Idle until something is held or handed to a subscriber; then at the broker's wait, which another process
            // of the prefix may have made shorter than this one's (a first interval of this process's own wait let it
            // redeliver meanwhile).
            var next = NextWorkAsync();
            var woken = Deferred == 0 && Working == 0;
            if (woken) await next.WaitAsync(cancellationToken).ConfigureAwait(false);
            var wait = await BrokerAckWaitAsync(cancellationToken).ConfigureAwait(false);
            // A hold is reported at once (it may come late after its delivery); work just handed to a subscriber half
            // a wait on, if it is still unfinished then: reported at once, every message after a quiet spell cost a
            // consumer lookup and a progress report.
            if (!woken || Deferred == 0) await Task.Delay(wait / 2, cancellationToken).ConfigureAwait(false);
            foreach (var held in WorkingMessages.Concat(HeldMessages.Where(h => !IsWorking(h))))
            {
                if (Bus.IsAbandoned) return;
                // Held only (no subscriber still has it queued or running), by handlers that all left.
                if (!IsWorking(held) && held.ReleaseIfAbandoned()) continue;
                using var telling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                telling.CancelAfter(wait / 4);
                try
                {
                    await held.ReportProgressAsync(telling.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NatsException or TimeoutException or ObjectDisposedException
                    || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    // The broker redelivers it after the wait; the copy is recognised by domain and sequence.
                    Bus.Logger.LogDebug("bus: telling the broker that a held message of {Topic} is in progress failed ({Error})", Topic, e.Message);
                }
            }
        }
    }

    /// <summary>The ack wait the broker applies now: the durable consumer is shared by every process of the prefix
    /// and takes the settings of the last one that created it, which may be shorter than this process's.</summary>
    private async ValueTask<TimeSpan> BrokerAckWaitAsync(CancellationToken cancellationToken)
    {
        var wait = Bus.Options.AckWait;
        // Asked for a short while only: a lost connection makes the request wait for it, and the fetch must not.
        using var asking = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        asking.CancelAfter(wait / 4);
        try
        {
            await _consumer!.RefreshAsync(asking.Token).ConfigureAwait(false);
            var broker = _consumer.Info.Config.AckWait;
            if (broker > TimeSpan.Zero && broker < wait) wait = broker < NatsBusOptions.MinAckWait ? NatsBusOptions.MinAckWait : broker;
        }
        catch (Exception e) when (e is NatsException or TimeoutException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Bus.Logger.LogDebug("bus: reading the consumer of {Topic} failed ({Error}); reporting progress at this process's ack wait", Topic, e.Message);
        }
        return wait;
    }

    public override async ValueTask<string?> BrokerBacklogAsync(CancellationToken cancellationToken)
    {
        if (_consumer is null) return $"{Topic}: its durable consumer is not made yet";
        await _consumer.RefreshAsync(cancellationToken).ConfigureAwait(false);
        // Unacknowledged messages are fine when a handler holds them on purpose (a deferred acknowledgement).
        var waiting = _consumer.Info.NumPending;
        var unacknowledged = _consumer.Info.NumAckPending - Deferred;
        if (waiting == 0 && unacknowledged <= 0) return null;
        return $"{Topic}: {BacklogWords.Count((long)waiting, "message")} on the broker not yet delivered to this process, "
            + $"{BacklogWords.Count(Math.Max(unacknowledged, 0), "message")} delivered (here or to another process of the prefix) and not acknowledged";
    }

    protected override ValueTask CloseAsync() => ValueTask.CompletedTask;
}
