namespace Meta.Gpu.Storage;

/// <summary>An optimizer's adaptive state as saved (DESIGN §8): the step size and the reward EMA. The rollback
/// copies are not saved: after a restart the optimizer has none until its next step.</summary>
/// <param name="Beta">The current step size.</param>
/// <param name="RewardEma">The reward EMA after the last step.</param>
public sealed record SavedOptimizerState(double Beta, double RewardEma);
