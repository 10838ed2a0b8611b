using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>
/// What a <c>processing_metrics</c> payload tells a learning round (DESIGN §10): the reward (meta_score, else
/// gain_p50, else 0), the DRG profile (vram_high, latency_high = latency_ms &gt; the scheduler's latency target,
/// bandwidth_free, bandwidth_low), the latency for the telemetry, and the scheduler's view of the payload.
/// Every lane (keyed, dense) of a round reads the same input.
/// </summary>
public sealed record LearningRoundInput(double Reward, DrgProfile Drg, double LatencyMs, SchedulerTelemetry Scheduler)
{
    /// <summary>Reads a processing payload; a field of the wrong type, or a non-finite reward, is an
    /// <see cref="InvalidInputException"/>.</summary>
    public static LearningRoundInput FromProcessingMetrics(JsonObject payload, double latencyTargetMs, string path = LearningTopics.ProcessingMetrics)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var metaScore = JsonRead.OptionalDouble(payload, "meta_score", path);
        var reward = metaScore ?? JsonRead.OptionalDouble(payload, "gain_p50", path) ?? 0.0;
        // A non-finite reward would poison the reward EMA for good: the payload is refused instead.
        if (!double.IsFinite(reward))
            throw new InvalidInputException(FormattableString.Invariant($"{JsonRead.Join(path, metaScore is null ? "gain_p50" : "meta_score")}: the reward must be finite, got {reward}"));
        var latency = JsonRead.OptionalDouble(payload, "latency_ms", path);
        // NaN is neither high nor low and would be republished in meta_metrics: refused, as governance refuses a
        // non-finite reading.
        JsonRead.RequireFinite(latency, JsonRead.Join(path, "latency_ms"));
        var scheduler = SchedulerTelemetry.FromJson(payload, path);
        var drg = new DrgProfile(
            VramHigh: scheduler.VramHigh,
            LatencyHigh: latency > latencyTargetMs,
            BandwidthFree: JsonRead.Bool(payload, "bandwidth_free", false, path),
            BandwidthLow: scheduler.BandwidthLow);
        return new LearningRoundInput(reward, drg, latency ?? 0.0, scheduler);
    }
}
