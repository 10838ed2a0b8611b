namespace Meta.Gpu.Learning;

/// <summary>
/// The learning agent's telemetry after an aggregation round (DESIGN §10, topic <c>meta.telemetry</c>); wire names
/// are the snake_case of the members.
/// </summary>
/// <param name="MetaReward">The round's reward (meta_score, else gain_p50, else 0).</param>
/// <param name="MetaUpdateRate">Participants per configured update interval (windows).</param>
/// <param name="MetaGain">Mean of the aggregate vector (0 when empty).</param>
/// <param name="MetaConfidence">The aggregate's confidence_mean.</param>
/// <param name="MetaDriftScore">The optimizer's reward EMA.</param>
/// <param name="MetaLatencyMs">The latency_ms of the processing payload that triggered the round (0 when absent).</param>
/// <param name="MetaStorageMb">Bytes the storage holds, in MiB (0 without storage).</param>
/// <param name="Timestamp">Seconds since the Unix epoch (UTC), as the Python seed's time.time().</param>
public sealed record MetaLearningTelemetry(
    double MetaReward,
    double MetaUpdateRate,
    double MetaGain,
    double MetaConfidence,
    double MetaDriftScore,
    double MetaLatencyMs,
    double MetaStorageMb,
    double Timestamp);
