using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// A deterministic in-test bus: one queue for all deliveries, drained by the publisher that found it idle, so
/// deliveries run one at a time in publish order (which satisfies per-subscriber FIFO). A handler that publishes
/// queues its events behind the current one instead of running them inline.
/// </summary>
internal sealed class SequentialTestBus : IEventBus
{
    private readonly Dictionary<string, List<Func<BusEvent, CancellationToken, ValueTask>>> _handlers = new(StringComparer.Ordinal);
    private readonly Queue<(Func<BusEvent, CancellationToken, ValueTask> Handler, BusEvent Event)> _queue = new();
    private bool _draining;
    private bool _shutdown;
    private long _published;
    private long _delivered;
    private long _errors;

    public List<Exception> HandlerErrors { get; } = [];

    public async ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
    {
        if (_shutdown) throw new InvalidOperationException("the bus is shut down");
        _published++;
        if (_handlers.TryGetValue(topic, out var handlers))
            foreach (var handler in handlers.ToArray())
                _queue.Enqueue((handler, new BusEvent(topic, payload)));
        if (_draining) return;
        _draining = true;
        try
        {
            while (_queue.TryDequeue(out var item))
            {
                try
                {
                    await item.Handler(item.Event, cancellationToken);
                    _delivered++;
                }
                catch (Exception e)
                {
                    _errors++;
                    HandlerErrors.Add(e);
                }
            }
        }
        finally
        {
            _draining = false;
        }
    }

    public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler)
    {
        if (!_handlers.TryGetValue(topic, out var list)) _handlers[topic] = list = [];
        list.Add(handler);
        return new Subscription(() => list.Remove(handler));
    }

    public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task ShutdownAsync(TimeSpan timeout)
    {
        _shutdown = true;
        return Task.CompletedTask;
    }

    public EventBusStats Stats => new(_published, _delivered, _errors, _handlers.Count, _handlers.Values.Sum(l => l.Count));

    public ValueTask DisposeAsync()
    {
        _shutdown = true;
        return ValueTask.CompletedTask;
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
