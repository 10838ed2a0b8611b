using System.Threading.Channels;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Nats;

internal readonly record struct Delivery(BusEvent Event, DeliveryTicket? Ticket);

/// <summary>
/// One handler with its own bounded FIFO queue and worker: order per subscriber, a slow or throwing handler
/// never holds up or breaks another (DESIGN §3).
/// </summary>
/// <remarks>Disposing stops deliveries at once: what is still queued is discarded (not handled, not counted as
/// delivered), as on the in-process bus; a discarded durable message is not acknowledged by this subscriber.</remarks>
internal sealed class LocalSubscriber : IDisposable
{
    private readonly Channel<Delivery> _queue;
    private readonly Func<BusEvent, CancellationToken, ValueTask> _handler;
    private readonly NatsEventBus _bus;
    private readonly TopicFeed _feed;
    private readonly Task _worker;
    private int _queued;
    private volatile bool _disposed;

    public LocalSubscriber(NatsEventBus bus, TopicFeed feed, Func<BusEvent, CancellationToken, ValueTask> handler, int capacity)
    {
        _bus = bus;
        _feed = feed;
        _handler = handler;
        _queue = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _worker = Task.Run(RunAsync);
    }

    public Task Completion => _worker;

    /// <summary>Deliveries waiting in the queue (not counting the one being handled).</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Queues a delivery, waiting while the queue is full (backpressure). False when the subscriber is
    /// gone; the caller then settles the ticket itself.</summary>
    public async ValueTask<bool> EnqueueAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        if (_disposed) return false;
        _bus.DeliveryQueued();
        Interlocked.Increment(ref _queued);
        try
        {
            await _queue.Writer.WriteAsync(delivery, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            Interlocked.Decrement(ref _queued);
            _bus.DeliveryFinished(handled: false);
            return false;
        }
        catch
        {
            Interlocked.Decrement(ref _queued);
            _bus.DeliveryFinished(handled: false);
            throw;
        }
    }

    private async Task RunAsync()
    {
        await foreach (var delivery in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            Interlocked.Decrement(ref _queued);
            _feed.PulseRoom();
            // handled: the handler ran to its end (returned or threw), so a durable message may be acknowledged.
            var handled = false;
            DeferrableAcknowledgement? acknowledgement = null;
            var share = delivery.Ticket is { } ticket ? new TicketShare(ticket) : null;
            var call = new NatsEventBus.HandlerCall(_bus);
            NatsEventBus.CurrentHandlerCall.Value = call;
            try
            {
                if (!_disposed && !_bus.IsAbandoned)
                {
                    if (share is not null)
                        acknowledgement = new DeferrableAcknowledgement(() => _bus.IsAbandoned ? ValueTask.CompletedTask : share.SignalAsync(handled: true));
                    DeliveryAcknowledgement.Current = acknowledgement;
                    await _handler(delivery.Event, _bus.StoppingToken).ConfigureAwait(false);
                    handled = true;
                }
            }
            catch (OperationCanceledException) when (_bus.StoppingToken.IsCancellationRequested)
            {
                // Cancelled by a shutdown that stopped waiting for it: not a handler error, and not taken in.
            }
            catch (Exception e)
            {
                // A handler that throws is isolated: logged and counted, the others go on (DESIGN §3). The message
                // counts as taken in: redelivering it would fail the same way forever.
                handled = !_bus.IsAbandoned;
                _bus.HandlerFailed(delivery.Event.Topic, e);
            }
            finally
            {
                call.Running = false;
                DeliveryAcknowledgement.Current = null;
                if (acknowledgement is { Deferred: true } && handled)
                    // The handler took the acknowledgement over: it acknowledges once the effect is saved.
                    delivery.Ticket!.MarkDeferred(this);
                else if (acknowledgement is not null && handled)
                    await acknowledgement.AcknowledgeAsync().ConfigureAwait(false);
                else if (share is not null)
                    await share.SignalAsync(handled: false).ConfigureAwait(false);
                // After a deferral's hold, so that the message is never left unreported in between.
                delivery.Ticket?.HandlerDone();
                _bus.DeliveryFinished(handled);
            }
        }
    }

    /// <summary>This subscriber's one say on a ticket. A handler that took the acknowledgement over and was then
    /// cancelled by the stop is counted not handled, yet whatever it handed the acknowledgement to may still give
    /// it, before the cancellation or after: counted twice, the ticket settled while another subscriber of the
    /// topic was still at the message (acknowledged, a crash then lost its work). The first word counts.</summary>
    private sealed class TicketShare(DeliveryTicket ticket)
    {
        private int _signalled;

        public ValueTask SignalAsync(bool handled) =>
            Interlocked.Exchange(ref _signalled, 1) == 0 ? ticket.SignalAsync(handled) : ValueTask.CompletedTask;
    }

    /// <summary>Disposed or closed: this handler takes no more deliveries, and what it held is no longer its work.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>Stops deliveries; queued ones are discarded.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _queue.Writer.TryComplete();
        _bus.Unsubscribed(_feed, this);
    }

    /// <summary>Stops taking deliveries without unsubscribing (the bus is stopping).</summary>
    public void Close()
    {
        _disposed = true;
        _queue.Writer.TryComplete();
        // A publisher waiting for room in this queue is waiting for nothing now.
        _feed.PulseRoom();
    }
}
