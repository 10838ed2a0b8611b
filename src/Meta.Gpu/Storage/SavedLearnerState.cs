namespace Meta.Gpu.Storage;

/// <summary>The keyed lane's learning state as saved beside the global prior it belongs to
/// (<c>learner_state.json</c>): every domain's learner, the keyed optimizer's beta and reward EMA, and the pending
/// updates a clean stop left.</summary>
/// <param name="Domains">Per domain id (ordinal order).</param>
/// <param name="Optimizer">The keyed optimizer's state.</param>
/// <param name="Pending">Per domain id, the pending update (only a clean stop saves with one); null or empty: none.</param>
public sealed record SavedLearnerState(IReadOnlyDictionary<string, SavedDomainLearner> Domains, SavedOptimizerState Optimizer,
    IReadOnlyDictionary<string, SavedPendingPack>? Pending = null);
