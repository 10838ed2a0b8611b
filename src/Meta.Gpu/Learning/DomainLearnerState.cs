namespace Meta.Gpu.Learning;

/// <summary>A read-only view of one domain's learner state (DESIGN §7).</summary>
/// <param name="EmaScore">The score EMA; null before the first observation.</param>
/// <param name="LastScore">The last score seen (0 before the first).</param>
/// <param name="Confidence">The current confidence in [0, 1].</param>
/// <param name="HistoryLength">Score deltas kept (at most max_history).</param>
/// <param name="Observations">How many observations this domain made.</param>
public sealed record DomainLearnerState(double? EmaScore, double LastScore, double Confidence, int HistoryLength, long Observations);
