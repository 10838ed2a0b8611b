using System.Threading.Channels;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Nats;

internal readonly record struct Delivery(BusEvent Event, DeliveryTicket? Ticket);

/// <summary>
/// One handler with its own bounded FIFO queue and worker: order per subscriber, a slow or throwing handler
/// never holds up or breaks another (DESIGN §3).
/// </summary>
internal sealed class LocalSubscriber : IDisposable
{
    private readonly Channel<Delivery> _queue;
    private readonly Func<BusEvent, CancellationToken, ValueTask> _handler;
    private readonly NatsEventBus _bus;
    private readonly TopicFeed _feed;
    private readonly Task _worker;
    private int _disposed;

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

    /// <summary>Queues a delivery, waiting while the queue is full (backpressure). False when the subscriber is
    /// gone; the caller then settles the ticket itself.</summary>
    public async ValueTask<bool> EnqueueAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        _bus.DeliveryQueued();
        try
        {
            await _queue.Writer.WriteAsync(delivery, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            _bus.DeliveryFinished(succeeded: false);
            return false;
        }
        catch
        {
            _bus.DeliveryFinished(succeeded: false);
            throw;
        }
    }

    private async Task RunAsync()
    {
        await foreach (var delivery in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // settled: the handler ran to its end (returned or threw), so a durable message may be acknowledged.
            bool settled = false, succeeded = false;
            try
            {
                if (!_bus.IsAbandoned)
                {
                    await _handler(delivery.Event, _bus.StoppingToken).ConfigureAwait(false);
                    settled = succeeded = true;
                }
            }
            catch (Exception e)
            {
                // A handler that throws is isolated: logged and counted, the others go on (DESIGN §3). The message
                // is still acknowledged: redelivering it would fail the same way forever.
                settled = !_bus.IsAbandoned;
                _bus.HandlerFailed(delivery.Event.Topic, e);
            }
            finally
            {
                if (delivery.Ticket is not null && settled)
                    await delivery.Ticket.SignalAsync().ConfigureAwait(false);
                _bus.DeliveryFinished(succeeded);
            }
        }
    }

    /// <summary>Stops taking new deliveries; those already queued are still handled.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        _bus.Unsubscribed(_feed, this);
    }

    /// <summary>Drops what is queued without handling it (the bus was abandoned: a simulated crash).</summary>
    public void Abandon()
    {
        _queue.Writer.TryComplete();
    }
}
