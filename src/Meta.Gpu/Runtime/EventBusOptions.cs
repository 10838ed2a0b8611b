using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Runtime;

/// <summary>Settings of the in-process <see cref="EventBus"/> (DESIGN §3).</summary>
/// <param name="QueueCapacity">Deliveries that may wait in one subscriber's queue before a publisher from outside
/// the bus waits (backpressure); at least 1; default 1024.</param>
/// <param name="ShutdownTimeout">How long <see cref="EventBus.DisposeAsync"/> lets pending deliveries drain; default 5 s;
/// <see cref="Timeout.InfiniteTimeSpan"/> or anything longer than <see cref="DrainTimeout.LongestTimed"/>: no limit.</param>
/// <param name="Logger">Where failing handlers and shutdown problems are reported; none by default.</param>
public sealed record EventBusOptions(int QueueCapacity = 1024, TimeSpan? ShutdownTimeout = null, ILogger? Logger = null)
{
    public static EventBusOptions Default { get; } = new();

    /// <summary>The drain limit of <see cref="EventBus.DisposeAsync"/>: <see cref="ShutdownTimeout"/> or 5 s.</summary>
    public TimeSpan EffectiveShutdownTimeout => ShutdownTimeout ?? TimeSpan.FromSeconds(5);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public EventBusOptions Validated()
    {
        if (QueueCapacity < 1)
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "queue_capacity must be >= 1");
        if (ShutdownTimeout is TimeSpan t) DrainTimeout.Normalise(t, "shutdown_timeout");
        return this;
    }
}
