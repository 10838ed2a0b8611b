namespace Meta.Gpu.Storage;

/// <summary>A domain's pending keyed update as saved by a clean stop (DESIGN §10: validated, not yet applied), so
/// that the restarted agent applies it as the stopped one would have, whatever order the broker delivers in.</summary>
/// <param name="Sequence">The pack's sequence; null when it carried none.</param>
/// <param name="Keys">The parameter names, ordinal order.</param>
/// <param name="Vector">The float32 values, one per key.</param>
/// <param name="Reward">The update's reward (the domain's score).</param>
/// <param name="Confidence">The domain's confidence after the observation, in [0, 1].</param>
/// <param name="Timestamp">When the observation was made.</param>
/// <param name="ScoreDelta">The score change since the domain's previous observation.</param>
public sealed record SavedPendingPack(
    long? Sequence,
    IReadOnlyList<string> Keys,
    IReadOnlyList<float> Vector,
    double Reward,
    double Confidence,
    DateTimeOffset Timestamp,
    double ScoreDelta);
