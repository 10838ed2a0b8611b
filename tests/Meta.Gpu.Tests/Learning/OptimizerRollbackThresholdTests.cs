using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The rollback test of the keyed optimizer at its bound (DESIGN §8): "ShouldRollback(r) = reward_ema - r &gt;
/// rollback_delta (using the EMA after the last Apply)". The comparison is strict: a drop of exactly rollback_delta
/// keeps the step. With ema_alpha 1 the EMA after one step is the reward itself, so the values are exact.
/// </summary>
public sealed class OptimizerRollbackThresholdTests
{
    private static OnlineReptileOptimizer AfterOneStep(double reward, double rollbackDelta)
    {
        var optimizer = new OnlineReptileOptimizer(new OptimizerConfig(EmaAlpha: 1.0, RollbackDelta: rollbackDelta));
        optimizer.Apply([1f], ["a"], reward);
        return optimizer;
    }

    [Fact]
    public void A_drop_of_exactly_rollback_delta_does_not_roll_back_and_the_next_double_below_does()
    {
        var optimizer = AfterOneStep(reward: 1.0, rollbackDelta: 0.25);
        Assert.Equal(1.0, optimizer.RewardEma);

        Assert.False(optimizer.ShouldRollback(0.75)); // 1.0 - 0.75 = 0.25, not > 0.25
        Assert.True(optimizer.ShouldRollback(Math.BitDecrement(0.75))); // 1.0 - it is exact, just above 0.25
    }

    [Fact]
    public void At_rollback_delta_zero_an_unchanged_reward_keeps_the_step_and_any_drop_rolls_back()
    {
        var optimizer = AfterOneStep(reward: 0.25, rollbackDelta: 0.0);

        Assert.False(optimizer.ShouldRollback(0.25));
        Assert.True(optimizer.ShouldRollback(Math.BitDecrement(0.25)));
    }
}
