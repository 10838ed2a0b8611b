using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

public sealed class ScoreBreakdownTests
{
    [Fact]
    public void Reward_is_the_weighted_terms_minus_the_penalties()
    {
        var telemetry = new TelemetrySnapshot
        {
            AcceptRate = 0.4, StabilityAvg = 0.6, RclContrast = 0.5, LatencyMs = 60, VramUtil = 0.5, OomFlag = true,
        };

        var score = ScoreBreakdown.Compute(MetaScoreConfig.Default, telemetry);

        Assert.Equal(0.35 * 0.4, score.Accept, 12);
        Assert.Equal(0.25 * 0.6, score.Stability, 12);
        Assert.Equal(0.1 * 0.5, score.Contrast, 12);
        Assert.Equal(0.15 * 0.5, score.LatencyPenalty, 12);
        Assert.Equal(0.1 * 0.5, score.VramPenalty, 12);
        Assert.Equal(0.2, score.OomPenalty, 12);
        Assert.Equal(0.14 + 0.15 + 0.05 - 0.075 - 0.05 - 0.2, score.Raw, 12);
        Assert.Equal(score.Raw, score.Reward);
    }

    [Theory]
    [InlineData(1000.0, 0.3)] // 1000/120 clipped to latency_clip_max 2 -> 0.15 * 2
    [InlineData(-50.0, 0.0)] // negative latency clipped to 0
    [InlineData(120.0, 0.15)]
    public void Latency_is_normalised_and_clipped(double latency, double penalty)
    {
        var score = ScoreBreakdown.Compute(MetaScoreConfig.Default, new TelemetrySnapshot { LatencyMs = latency });

        Assert.Equal(penalty, score.LatencyPenalty, 12);
    }

    [Fact]
    public void Reward_is_clipped_to_the_configured_range_but_raw_is_not()
    {
        var config = new MetaScoreConfig { Weights = new MetaScoreWeights { Accept = 5 }, RewardClipMax = 0.8 };

        var high = ScoreBreakdown.Compute(config, new TelemetrySnapshot { AcceptRate = 1 });
        var low = ScoreBreakdown.Compute(config, new TelemetrySnapshot { LatencyMs = 240, VramUtil = 1, OomFlag = true });

        Assert.Equal(5.0, high.Raw, 12);
        Assert.Equal(0.8, high.Reward);
        Assert.Equal(-0.6, low.Raw, 12);
        Assert.Equal(-0.6, low.Reward, 12);
        var floor = ScoreBreakdown.Compute(config with { Penalties = new MetaScorePenalties { Oom = 3 } }, new TelemetrySnapshot { OomFlag = true });
        Assert.Equal(-1.0, floor.Reward);
    }

    [Fact]
    public void Scoring_json_names_every_term()
    {
        var json = ScoreBreakdown.Compute(MetaScoreConfig.Default, GovernanceTestData.Calm).ToJson();

        Assert.Equal(["accept", "stability", "contrast", "latency_penalty", "vram_penalty", "oom_penalty", "raw", "reward"],
            json.Select(p => p.Key).ToArray());
    }
}
