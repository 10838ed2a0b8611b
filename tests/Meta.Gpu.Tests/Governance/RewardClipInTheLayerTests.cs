using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §5 step 1: "reward = wa*accept + ... - po*oom, clipped to [reward_clip_min, reward_clip_max]. ...
/// EMA = (1-a)*EMA + a*reward." The reference traces never reach either clip (their rewards stay inside [-1, 1]),
/// so these check, through the layer, that the clip comes before the EMA and that what follows the EMA (the
/// exploration test, the rollback test, the history, meta_telemetry) sees the clipped reward.
/// </summary>
public sealed class RewardClipInTheLayerTests
{
    /// <summary>Only the accept term counts (weight 4), no penalties, so raw = 4 * accept exactly.</summary>
    private static IntegrativeMetaConfig AcceptOnly(double clipMin, double clipMax, double alpha) => new()
    {
        MetaScore = new MetaScoreConfig
        {
            Weights = new MetaScoreWeights { Accept = 4, Stability = 0, Contrast = 0 },
            Penalties = new MetaScorePenalties { Latency = 0, Vram = 0, Oom = 0 },
            EmaAlpha = alpha,
            RewardClipMin = clipMin,
            RewardClipMax = clipMax,
        },
    };

    [Fact]
    public void The_ema_history_and_telemetry_take_the_reward_clipped_to_reward_clip_max()
    {
        using var layer = new MetaIntegrativeLayer(AcceptOnly(-1, 0.5, 0.25));

        // raw = 4 * 0.5 = 2, reward = 0.5, EMA = 0.75 * 0 + 0.25 * 0.5 = 0.125.
        var result = layer.Update(GovernanceTestData.Calm with { AcceptRate = 0.5 });

        Assert.Equal(2.0, result.Scoring.Raw);
        Assert.Equal(0.5, result.MetaScore);
        Assert.Equal(0.125, result.MetaScoreAvg);
        Assert.Equal(0.5, result.Telemetry.MetaReward);
        Assert.Equal(0.125, result.Telemetry.MetaRewardAvg);
        Assert.True(layer.State.History.TryGetNewest(out var entry));
        Assert.Equal(0.5, entry.Reward);
        Assert.Equal(0.125, entry.RewardAvg);
    }

    [Fact]
    public void The_ema_takes_the_reward_clipped_to_reward_clip_min()
    {
        var config = new IntegrativeMetaConfig
        {
            MetaScore = new MetaScoreConfig
            {
                Weights = new MetaScoreWeights { Accept = 0, Stability = 0, Contrast = 0 },
                Penalties = new MetaScorePenalties { Latency = 0, Vram = 0, Oom = 3 },
                EmaAlpha = 0.5,
                RewardClipMin = -0.25,
            },
        };
        using var layer = new MetaIntegrativeLayer(config);

        // raw = -3, reward = -0.25, EMA = 0.5 * -0.25 = -0.125.
        var result = layer.Update(GovernanceTestData.Calm with { OomFlag = true });

        Assert.Equal(-3.0, result.Scoring.Raw);
        Assert.Equal(3.0, result.Scoring.OomPenalty);
        Assert.Equal(-0.25, result.MetaScore);
        Assert.Equal(-0.125, result.MetaScoreAvg);
    }

    [Fact]
    public void A_reward_on_the_clip_bounds_is_kept_as_it_is()
    {
        using var layer = new MetaIntegrativeLayer(AcceptOnly(-1, 1, 1));

        // raw = 4 * 0.25 = 1 exactly: inside the closed range.
        var result = layer.Update(GovernanceTestData.Calm with { AcceptRate = 0.25 });

        Assert.Equal(1.0, result.Scoring.Raw);
        Assert.Equal(1.0, result.MetaScore);
        Assert.Equal(1.0, result.MetaScoreAvg);
    }

    [Fact]
    public void A_fall_of_the_raw_sum_above_the_clip_is_no_fall_of_the_ema_so_no_rollback()
    {
        using var layer = new MetaIntegrativeLayer(AcceptOnly(-1, 0.5, 1));

        // Call 1: raw 3.6, reward 0.5, EMA 0.5. Call 2: raw 2, reward 0.5, EMA 0.5: the EMA did not fall.
        layer.Update(GovernanceTestData.Calm with { AcceptRate = 0.9 });
        var second = layer.Update(GovernanceTestData.Calm with { AcceptRate = 0.5 });

        Assert.False(second.Rollback);
        Assert.Equal(0.5, second.MetaScoreAvg);
    }

    [Fact]
    public void Exploration_compares_the_emas_of_clipped_rewards()
    {
        using var layer = new MetaIntegrativeLayer(AcceptOnly(-1, 0.1, 1));

        // accept below accept_low (0.06) both times. Raw rises (0.2 -> 0.22), but both rewards clip to 0.1, so the
        // new EMA (0.1) is not above the previous one (0.1): exploration fires on the second call.
        var first = layer.Update(GovernanceTestData.Calm with { AcceptRate = 0.05 });
        var second = layer.Update(GovernanceTestData.Calm with { AcceptRate = 0.055 });

        Assert.Equal(0.1, first.MetaScoreAvg);
        Assert.Equal(0.1, second.MetaScoreAvg);
        Assert.Equal(1.0, second.Knobs.Tau);
        Assert.Equal(0.35, second.Knobs.GammaDiversity);
        Assert.Equal("low_accept", second.PolicyUpdate.Reason);
    }
}
