using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §5: "A step on a numeric knob: new = round(clamp(old +- step, lo, hi), 10 decimals)". The reference
/// traces only meet the bounds a knob steps towards (tau's both, gamma's upper, g_min's and lambda_ci's lower);
/// these check the other sides: a step is clamped into the configured range whichever way it goes, so a knob
/// that starts outside its range is brought into it by its first step.
/// </summary>
public sealed class KnobStepClampTests
{
    [Fact]
    public void An_exploration_step_below_gamma_bounds_lands_on_its_lower_bound()
    {
        // gamma 0.3 + 0.05 = 0.35, clamped to [0.4, 0.5] -> 0.4; tau 0.9 + 0.1 = 1.0, clamped to [0.5, 0.95] -> 0.95.
        var config = new IntegrativeMetaConfig
        {
            ControllerPolicy = new ControllerPolicyConfig { GammaBounds = new KnobBounds(0.4, 0.5), TauBounds = new KnobBounds(0.5, 0.95) },
        };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(GovernanceTestData.Calm with { AcceptRate = 0.01, StabilityAvg = 0, RclContrast = 0, VramUtil = 0.6, LatencyMs = 0 });

        Assert.Equal(0.4, result.Knobs.GammaDiversity);
        Assert.Equal(0.95, result.Knobs.Tau);
        Assert.Equal(5, result.Cooldowns[Knob.GammaDiversity]);
    }

    [Fact]
    public void Evaluator_steps_down_from_above_their_bounds_land_on_the_upper_bound()
    {
        // g_min 0.01 - 0.002 = 0.008, clamped to [0.006, 0.007] -> 0.007;
        // lambda_ci 0.5 - 0.05 = 0.45, clamped to [0.4, 0.42] -> 0.42.
        var config = new IntegrativeMetaConfig
        {
            EvaluatorPolicy = new EvaluatorPolicyConfig { GMinBounds = new KnobBounds(0.006, 0.007), LambdaCiBounds = new KnobBounds(0.4, 0.42) },
        };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(GovernanceTestData.Calm with { AcceptRate = 0.01, AcceptLowWindows = 5, CiWidth = 0.5 });

        Assert.Equal(0.007, result.Knobs.GMin);
        Assert.Equal(0.42, result.Knobs.LambdaCi);
        Assert.Equal(0.007, result.PolicyUpdate.ValueOf(Knob.GMin));
        Assert.Equal(0.42, result.PolicyUpdate.ValueOf(Knob.LambdaCi));
    }

    [Fact]
    public void Exploitation_from_below_tau_bounds_raises_tau_to_the_lower_bound()
    {
        // tau 0.9 - 0.1 = 0.8, clamped to [0.95, 1.2] -> 0.95: the "decrease" raises it into its range.
        var config = new IntegrativeMetaConfig { ControllerPolicy = new ControllerPolicyConfig { TauBounds = new KnobBounds(0.95, 1.2) } };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(GovernanceTestData.Calm with { StabilityAvg = 0.9, GainP50 = 0.5, GainPrev = 0.25 });

        Assert.Equal(0.95, result.Knobs.Tau);
    }
}
