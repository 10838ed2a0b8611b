namespace Meta.Gpu.Storage;

/// <summary>One domain's learner state as saved (DESIGN §7), with the newest policy-pack sequence the learner
/// observed for it.</summary>
/// <param name="EmaScore">The score EMA; null before the first observation.</param>
/// <param name="LastScore">The last score seen.</param>
/// <param name="Confidence">The confidence, in [0, 1].</param>
/// <param name="History">The recent score deltas, oldest first (at most the learner's max_history).</param>
/// <param name="PreviousParams">The parameters of the last observation (ordinal key order).</param>
/// <param name="Observations">How many observations the domain made.</param>
/// <param name="LastObservedSequence">The newest pack sequence observed for the domain (refused packs included);
/// null when its packs carried none.</param>
public sealed record SavedDomainLearner(
    double? EmaScore,
    double LastScore,
    double Confidence,
    IReadOnlyList<double> History,
    IReadOnlyDictionary<string, double> PreviousParams,
    long Observations,
    long? LastObservedSequence);
