namespace Meta.Gpu.Storage;

/// <summary>The dense lane's learning state as saved beside the dense prior it belongs to
/// (<c>dense_lane_state.json</c>): the dense optimizer's beta and reward EMA and every domain's last observed
/// score.</summary>
/// <param name="Optimizer">The dense optimizer's state.</param>
/// <param name="LastScores">Per domain id (ordinal order).</param>
public sealed record SavedDenseLaneState(SavedOptimizerState Optimizer, IReadOnlyDictionary<string, SavedDenseScore> LastScores);
