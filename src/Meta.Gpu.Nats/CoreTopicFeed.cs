using Meta.Gpu.Runtime;
using NATS.Client.Core;

namespace Meta.Gpu.Nats;

/// <summary>A fire-and-forget topic (telemetry): a plain NATS subscription, at most once.</summary>
internal sealed class CoreTopicFeed(NatsEventBus bus, string topic) : TopicFeed(bus, topic)
{
    private INatsSub<byte[]>? _subscription;

    public override int Buffered => _subscription is { Msgs.CanCount: true } s ? s.Msgs.Count : 0;

    protected override async Task OpenAsync(CancellationToken cancellationToken)
    {
        _subscription = await Bus.Connection.SubscribeCoreAsync<byte[]>(Subject, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _subscription!.Msgs;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Counted as "in dispatch" before the read, so that WaitForIdle never sees an empty buffer and
                // nothing in flight while a message is between the two.
                Bus.DispatchStarted();
                try
                {
                    while (reader.TryRead(out var msg))
                    {
                        // Our own message stays counted in flight until it is in the subscribers' queues: counted
                        // off on arrival, a waiting publisher saw room in the gap before the queues counted it.
                        var own = Bus.IsOwn(msg.Headers);
                        try
                        {
                            NatsEventBus.Decoded decoded;
                            try
                            {
                                decoded = await Bus.DecodeAsync(Topic, msg.Headers, msg.Data, cancellationToken).ConfigureAwait(false);
                            }
                            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                            {
                                // At most once: a message that cannot be read now (its object store unreachable) is
                                // lost, but rejected with its reason and counted; the topic's feed goes on.
                                Bus.RejectUnreadable(Topic, e);
                                continue;
                            }
                            if (decoded.Ok)
                                await DispatchAsync(new BusEvent(Topic, decoded.Payload), settle: null, cancellationToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            if (own) LocalReturned();
                        }
                    }
                }
                finally
                {
                    Bus.DispatchFinished();
                }
            }
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or ObjectDisposedException or NatsException)
        {
            // Stopped.
        }
    }

    public override ValueTask<string?> BrokerBacklogAsync(CancellationToken cancellationToken) => ValueTask.FromResult<string?>(null);

    protected override async ValueTask CloseAsync()
    {
        if (_subscription is null) return;
        try
        {
            await _subscription.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or ObjectDisposedException)
        {
            // The connection is already gone; the server drops the subscription with it.
        }
    }
}
