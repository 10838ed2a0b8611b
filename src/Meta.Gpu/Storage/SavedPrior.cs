namespace Meta.Gpu.Storage;

/// <summary>The global prior as saved, with the last applied policy-pack sequence of every domain that sent one
/// (DESIGN §10; empty for a file saved without them) and the learners' state saved with it (null when none was:
/// a root written before the state was saved, a store that keeps none, or no copy of the state that belongs to
/// this prior).</summary>
public sealed record SavedPrior(IReadOnlyDictionary<string, double> Prior, IReadOnlyDictionary<string, long> LastSequences,
    SavedLearnerState? Learners = null);
