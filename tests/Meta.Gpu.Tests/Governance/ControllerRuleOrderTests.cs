using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §5 step 3: "Exploration: ... tau += tau_step, then gamma_diversity += gamma_step (D1). Exploitation, after
/// it and on the value it left: ... tau -= tau_step." Away from tau's bounds the two steps cancel whichever comes
/// first; at a bound the clamp shows the order: the step that meets the bound is lost, and the other one stands.
/// </summary>
public sealed class ControllerRuleOrderTests
{
    /// <summary>Accept low with a falling EMA (the reward is negative: exploration fires), stable and gaining
    /// (exploitation fires), no load.</summary>
    private static readonly TelemetrySnapshot ExploreAndExploit = new()
    {
        AcceptRate = 0.01, StabilityAvg = 0.9, LatencyMs = 119, VramUtil = 0.8, GainP50 = 0.3, GainPrev = 0.2,
    };

    [Theory]
    // tau 0.9 at its upper bound: exploration's +0.1 is clamped away, then exploitation lowers it to 0.8.
    [InlineData(0.5, 0.9, 0.8)]
    // tau 0.9 at its lower bound: exploration raises it to 1.0, then exploitation brings it back to 0.9.
    [InlineData(0.9, 1.2, 0.9)]
    public void Exploitation_steps_tau_from_the_value_exploration_left_at_a_bound(double lo, double hi, double tau)
    {
        var config = new IntegrativeMetaConfig { ControllerPolicy = new ControllerPolicyConfig { TauBounds = new KnobBounds(lo, hi) } };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(ExploreAndExploit);

        Assert.True(result.MetaScoreAvg < 0);
        Assert.Equal(0.35, result.Knobs.GammaDiversity);
        Assert.Equal(tau, result.Knobs.Tau);
        Assert.True(result.PolicyUpdate.Announces(Knob.Tau));
        Assert.Equal(tau, result.PolicyUpdate.ValueOf(Knob.Tau));
    }
}
