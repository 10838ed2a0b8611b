namespace Meta.Gpu.Storage;

/// <summary>The keyed lane's learning state as saved beside the global prior it belongs to
/// (<c>learner_state.json</c>): every domain's learner and the keyed optimizer's beta and reward EMA.</summary>
/// <param name="Domains">Per domain id (ordinal order).</param>
/// <param name="Optimizer">The keyed optimizer's state.</param>
public sealed record SavedLearnerState(IReadOnlyDictionary<string, SavedDomainLearner> Domains, SavedOptimizerState Optimizer);
