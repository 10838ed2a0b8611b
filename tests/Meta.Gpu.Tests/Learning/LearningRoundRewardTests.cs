using System.Text.Json.Nodes;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// A round's reward, read from the <c>processing_metrics</c> payload (DESIGN §10): "reward = meta_score else
/// gain_p50 else 0". It drives the Reptile step's reward EMA and the rollback test (§8) and is published as
/// meta_reward.
/// </summary>
public sealed class LearningRoundRewardTests
{
    private static double Reward(string json) =>
        LearningRoundInput.FromProcessingMetrics(JsonNode.Parse(json)!.AsObject(), latencyTargetMs: 80).Reward;

    [Fact]
    public void Meta_score_wins_over_gain_p50_which_wins_over_zero()
    {
        Assert.Equal(0.9, Reward("""{"meta_score": 0.9, "gain_p50": 0.1, "latency_ms": 50}"""));
        Assert.Equal(0.1, Reward("""{"gain_p50": 0.1, "latency_ms": 50}"""));
        Assert.Equal(0.0, Reward("""{"latency_ms": 50}"""));
    }

    [Fact]
    public void A_meta_score_of_zero_is_the_reward_even_beside_a_gain_p50()
    {
        Assert.Equal(0.0, Reward("""{"meta_score": 0.0, "gain_p50": 0.7}"""));
    }
}
