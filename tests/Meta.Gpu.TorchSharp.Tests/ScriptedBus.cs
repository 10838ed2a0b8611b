using Meta.Gpu.Runtime;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>An in-test bus: records every publish, delivers synchronously, and answers a topic with scripted
/// replies (the way a supervisor or agent would), so a test controls exactly what governance says when.</summary>
internal sealed class ScriptedBus : IEventBus
{
    private readonly Dictionary<string, List<Func<BusEvent, CancellationToken, ValueTask>>> _handlers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<(string Topic, object? Payload)[]>> _replies = new(StringComparer.Ordinal);
    private long _delivered;

    public List<BusEvent> Published { get; } = [];

    public int IdleWaits { get; private set; }

    /// <summary>The next publish on <paramref name="trigger"/> is answered with <paramref name="replies"/>.</summary>
    public void ReplyOnce(string trigger, params (string Topic, object? Payload)[] replies)
    {
        if (!_replies.TryGetValue(trigger, out var queue)) _replies[trigger] = queue = new();
        queue.Enqueue(replies);
    }

    public async ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
    {
        Published.Add(new BusEvent(topic, payload));
        if (_handlers.TryGetValue(topic, out var handlers))
            foreach (var handler in handlers.ToArray())
            {
                await handler(new BusEvent(topic, payload), cancellationToken);
                _delivered++;
            }
        if (_replies.TryGetValue(topic, out var queue) && queue.TryDequeue(out var replies))
            foreach (var (replyTopic, replyPayload) in replies)
                await PublishAsync(replyTopic, replyPayload, cancellationToken);
    }

    public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler)
    {
        if (!_handlers.TryGetValue(topic, out var list)) _handlers[topic] = list = [];
        list.Add(handler);
        return new Subscription(() => list.Remove(handler));
    }

    public Task WaitForIdleAsync(CancellationToken cancellationToken = default)
    {
        IdleWaits++;
        return Task.CompletedTask;
    }

    public Task ShutdownAsync(TimeSpan timeout) => Task.CompletedTask;

    public EventBusStats Stats => new(Published.Count, _delivered, 0, _handlers.Count, _handlers.Values.Sum(h => h.Count));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
