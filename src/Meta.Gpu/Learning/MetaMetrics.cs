using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Learning;

/// <summary>Builds and publishes the learning agent's telemetry (DESIGN §2, §10; topic <c>meta.telemetry</c>).</summary>
public static class MetaMetrics
{
    public const string Topic = "meta.telemetry";

    /// <summary>
    /// The snapshot of one round: meta_update_rate = participants / <paramref name="updateIntervalWindows"/> (the
    /// configured interval, not the adapted one), meta_gain = mean of the aggregate.
    /// </summary>
    public static MetaLearningTelemetry BuildSnapshot(
        double reward,
        AggregationResult aggregate,
        int updateIntervalWindows,
        double driftScore,
        double latencyMs,
        long storageBytes,
        DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        if (updateIntervalWindows < 1) throw new ArgumentOutOfRangeException(nameof(updateIntervalWindows), updateIntervalWindows, "must be >= 1");
        var vector = aggregate.Vector;
        var gain = 0.0;
        if (vector.Length > 0)
        {
            foreach (var v in vector) gain += v;
            gain /= vector.Length;
        }
        return new MetaLearningTelemetry(
            MetaReward: reward,
            MetaUpdateRate: (double)aggregate.Meta.Participants / updateIntervalWindows,
            MetaGain: gain,
            MetaConfidence: aggregate.Meta.ConfidenceMean,
            MetaDriftScore: driftScore,
            MetaLatencyMs: latencyMs,
            MetaStorageMb: storageBytes / (1024.0 * 1024.0),
            Timestamp: timestamp.ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>Publishes <paramref name="snapshot"/> on <c>meta.telemetry</c>.</summary>
    public static ValueTask PublishAsync(IEventBus bus, MetaLearningTelemetry snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(snapshot);
        return bus.PublishAsync(Topic, snapshot, cancellationToken);
    }
}
