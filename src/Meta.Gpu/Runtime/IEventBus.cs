namespace Meta.Gpu.Runtime;

/// <summary>One delivery: the topic and the payload as published.</summary>
/// <remarks>
/// Payloads are plain data that System.Text.Json round-trips. In process a subscriber may receive the very
/// object that was published; across a broker it receives a <see cref="System.Text.Json.Nodes.JsonNode"/>.
/// Read payloads through <see cref="Serialization.BusPayload"/> so that a subscriber works on both.
/// </remarks>
public readonly record struct BusEvent(string Topic, object? Payload);

/// <summary>Counters of a bus since it was created (DESIGN §3).</summary>
public sealed record EventBusStats(long Published, long Delivered, long Errors, int Topics, int Subscribers);

/// <summary>
/// Asynchronous publish/subscribe (DESIGN §3). Delivery is FIFO per subscriber; a throwing handler is isolated,
/// logged and counted; queues are bounded with backpressure, so nothing is dropped silently.
/// </summary>
public interface IEventBus : IAsyncDisposable
{
    /// <summary>Delivers <paramref name="payload"/> to every current subscriber of <paramref name="topic"/>.
    /// Waits (backpressure) while a subscriber's queue is full. Throws <see cref="InvalidOperationException"/>
    /// after <see cref="ShutdownAsync"/>.</summary>
    ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default);

    /// <summary>Subscribes a handler; disposing the result unsubscribes it.</summary>
    IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler);

    /// <summary>
    /// Subscribes one handler to several topics as one subscriber, so that it sees their events one at a time in
    /// the order they reach it (DESIGN §6, §10: "in arrival order"); disposing the result unsubscribes it from all.
    /// The in-process bus gives such a subscriber one queue: publish order across the topics. By default (a bus
    /// that cannot, such as one over a broker, whose subjects keep no order between them) the handler is
    /// subscribed to each topic on its own: each topic's order is kept, not the order between them.
    /// </summary>
    IDisposable Subscribe(IReadOnlyList<string> topics, Func<BusEvent, CancellationToken, ValueTask> handler)
    {
        var names = CheckTopics(topics);
        ArgumentNullException.ThrowIfNull(handler);
        var subscriptions = new List<IDisposable>(names.Length);
        try
        {
            foreach (var topic in names) subscriptions.Add(Subscribe(topic, handler));
        }
        catch
        {
            foreach (var subscription in subscriptions) subscription.Dispose();
            throw;
        }
        return new Subscriptions(subscriptions);
    }

    /// <summary>Completes when every delivery published so far, including those published by handlers
    /// meanwhile, has finished.</summary>
    Task WaitForIdleAsync(CancellationToken cancellationToken = default);

    /// <summary>Drains pending deliveries (up to <paramref name="timeout"/>: zero or more, or
    /// <see cref="Timeout.InfiniteTimeSpan"/> or anything longer than <see cref="DrainTimeout.LongestTimed"/> for no
    /// limit), then refuses new publishes.</summary>
    Task ShutdownAsync(TimeSpan timeout);

    EventBusStats Stats { get; }

    /// <summary>The topics of a several-topic subscription: at least one, none empty, none twice (it would be
    /// delivered twice).</summary>
    internal static string[] CheckTopics(IReadOnlyList<string> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        if (topics.Count == 0) throw new ArgumentException("at least one topic is needed", nameof(topics));
        var names = topics.ToArray();
        foreach (var topic in names) ArgumentException.ThrowIfNullOrEmpty(topic, nameof(topics));
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Length)
            throw new ArgumentException($"a topic is listed twice: {string.Join(", ", names)}", nameof(topics));
        return names;
    }

    private sealed class Subscriptions(List<IDisposable> all) : IDisposable
    {
        public void Dispose()
        {
            foreach (var subscription in all) subscription.Dispose();
        }
    }
}
