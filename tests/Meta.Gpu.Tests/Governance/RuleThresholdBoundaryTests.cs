using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// The comparisons of DESIGN §5 steps 3-8 on their boundaries, which no reference trace lands on: each rule fires
/// only on the side its sentence says (&lt;, &gt;, &gt;=), and a reading exactly on the threshold does not cross it.
/// </summary>
public sealed class RuleThresholdBoundaryTests
{
    private static readonly TelemetrySnapshot Calm = GovernanceTestData.Calm;

    [Fact]
    public void Accept_equal_to_accept_low_is_not_low()
    {
        // "low_accept (accept < accept_low ...)"; "accept < accept_low and new EMA < previous EMA + 1e-9".
        var config = new IntegrativeMetaConfig { ControllerPolicy = new ControllerPolicyConfig { AcceptLow = 0.0625 } };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(Calm with { AcceptRate = 0.0625, StabilityAvg = 0, RclContrast = 0, VramUtil = 0.6 });

        Assert.Equal("steady", result.PolicyUpdate.Reason);
        Assert.Equal(KnobVector.Initial, result.Knobs);
    }

    [Fact]
    public void Stability_equal_to_stability_high_does_not_exploit()
    {
        // "stability > stability_high and gain_p50 > gain_prev -> tau -= tau_step".
        using var layer = new MetaIntegrativeLayer();

        var at = layer.Update(Calm with { StabilityAvg = 0.8, GainP50 = 0.5, GainPrev = 0.25 });
        var above = layer.Update(Calm with { StabilityAvg = 0.8125, GainP50 = 0.5, GainPrev = 0.25 });

        Assert.Equal(0.9, at.Knobs.Tau);
        Assert.Equal(0.8, above.Knobs.Tau);
    }

    [Fact]
    public void G_min_steps_at_exactly_accept_low_windows_and_not_at_accept_very_low()
    {
        // "accept_low_windows >= 5 and accept < accept_very_low -> g_min -= g_min_step".
        var config = new IntegrativeMetaConfig { EvaluatorPolicy = new EvaluatorPolicyConfig { AcceptVeryLow = 0.03125, AcceptLowWindows = 3 } };
        using var atThreshold = new MetaIntegrativeLayer(config);
        using var fewer = new MetaIntegrativeLayer(config);
        using var atVeryLow = new MetaIntegrativeLayer(config);

        var fires = atThreshold.Update(Calm with { AcceptRate = 0.015625, AcceptLowWindows = 3 });
        var tooFew = fewer.Update(Calm with { AcceptRate = 0.015625, AcceptLowWindows = 2 });
        var notVeryLow = atVeryLow.Update(Calm with { AcceptRate = 0.03125, AcceptLowWindows = 9 });

        Assert.Equal(0.008, fires.Knobs.GMin);
        Assert.Equal(0.01, tooFew.Knobs.GMin);
        Assert.Equal(0.01, notVeryLow.Knobs.GMin);
    }

    [Fact]
    public void Ci_width_equal_to_its_target_does_not_lower_lambda_ci()
    {
        // "ci_width > ci_width_target -> lambda_ci -= lambda_ci_step".
        using var layer = new MetaIntegrativeLayer();

        var result = layer.Update(Calm with { CiWidth = 0.25, CiWidthTarget = 0.25 });

        Assert.Equal(0.5, result.Knobs.LambdaCi);
    }

    [Fact]
    public void Latency_and_memory_equal_to_their_high_marks_are_not_load()
    {
        // "under load = latency > latency_high or vram > vram_high"; "vram > vram_high or oom -> shrink".
        var config = new IntegrativeMetaConfig { DrgPolicy = new DrgPolicyConfig { LatencyHigh = 96, VramHigh = 0.875 } };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(Calm with { LatencyMs = 96, VramUtil = 0.875 });

        Assert.Equal("steady", result.PolicyUpdate.Reason);
        Assert.Equal(5, result.Knobs.Tier3TopK);
        Assert.Equal(ResourceHintKind.None, result.ResourceProfileHint.Kind);
    }

    [Fact]
    public void Memory_at_vram_low_or_latency_at_latency_comfort_gives_no_grow_hint()
    {
        // "vram < vram_low and latency < latency_comfort -> {n_paths_delta: n_paths_grow, ...}".
        var config = new IntegrativeMetaConfig { DrgPolicy = new DrgPolicyConfig { VramLow = 0.5, LatencyComfort = 64 } };
        using var layer = new MetaIntegrativeLayer(config);

        var atVramLow = layer.Update(Calm with { VramUtil = 0.5, LatencyMs = 32 });
        var atComfort = layer.Update(Calm with { VramUtil = 0.25, LatencyMs = 64 });
        var below = layer.Update(Calm with { VramUtil = 0.25, LatencyMs = 32, ResamplesDefault = 7 });

        Assert.Equal(ResourceHintKind.None, atVramLow.ResourceProfileHint.Kind);
        Assert.Equal(ResourceHintKind.None, atComfort.ResourceProfileHint.Kind);
        Assert.Equal(ResourceHint.Grow(0.10, 9), below.ResourceProfileHint);
    }

    /// <summary>Only the accept term counts (weight 1) and the EMA is the last reward, so the EMA is set exactly.</summary>
    private static IntegrativeMetaConfig ExactEma(double rollbackDelta) => new()
    {
        MetaScore = new MetaScoreConfig
        {
            Weights = new MetaScoreWeights { Accept = 1, Stability = 0, Contrast = 0 },
            Penalties = new MetaScorePenalties { Latency = 0, Vram = 0, Oom = 0 },
            EmaAlpha = 1,
        },
        Safety = new SafetyConfig { RollbackDelta = rollbackDelta },
    };

    [Theory]
    [InlineData(5e-10, true)]
    [InlineData(1e-9, false)] // a rise of exactly the slack is not "< previous EMA + 1e-9"
    public void Exploration_fires_while_the_ema_rises_by_less_than_the_slack_and_not_by_the_slack(double accept, bool explores)
    {
        // "accept < accept_low and new EMA < previous EMA + 1e-9 -> tau += tau_step, then gamma_diversity +=
        // gamma_step (D1)". From an EMA of 0, the accept term alone and alpha 1 make the new EMA the accept rate.
        using var layer = new MetaIntegrativeLayer(ExactEma(0.1));

        var result = layer.Update(Calm with { AcceptRate = accept });

        Assert.Equal(accept, result.MetaScoreAvg);
        Assert.Equal(explores ? 1.0 : 0.9, result.Knobs.Tau);
        Assert.Equal(explores ? 0.35 : 0.3, result.Knobs.GammaDiversity);
        Assert.Equal("low_accept", result.PolicyUpdate.Reason);
    }

    [Theory]
    [InlineData(0.25, false)] // a fall of exactly rollback_delta is not "> rollback_delta"
    [InlineData(0.125, true)]
    public void A_fall_of_the_ema_rolls_back_only_when_it_exceeds_rollback_delta(double rollbackDelta, bool rollback)
    {
        // "If prev.reward_avg - EMA > rollback_delta: set every knob to prev.knobs_before".
        using var layer = new MetaIntegrativeLayer(ExactEma(rollbackDelta));

        layer.Update(Calm with { AcceptRate = 0.5 });
        var fall = layer.Update(Calm with { AcceptRate = 0.25 });

        Assert.Equal(rollback, fall.Rollback);
        Assert.Equal(0.25, fall.MetaScoreAvg);
    }
}
