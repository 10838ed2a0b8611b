using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Tests.Learning;

/// <summary>The dense lane's score_delta rule (DESIGN §10: the validator's rules apply; §7: last_score moves on every
/// observation, so a jump past max_score_delta is refused once).</summary>
public sealed class DenseLaneScoreDeltaTests
{
    private static readonly float[] Vector = [0.1f, 0.2f, 0.3f];

    private static DenseLearningLane Lane()
    {
        var config = MetaLearningConfig.Default;
        return new DenseLearningLane(config, new CpuBackend(), ownsBackend: true, storage: null,
            new MetaPacketValidator(config.Validator), NullLogger.Instance);
    }

    private static DenseUpdate Update(long sequence, double score) =>
        new("a", sequence, 0.9, new DomainMetrics(MetaScore: score), Vector);

    [Fact]
    public void A_score_that_jumps_past_max_score_delta_is_refused_once_then_judged_from_there()
    {
        using var lane = Lane();
        Assert.False(lane.Accept(Update(1, 1.5))); // 1.5 - 0 > 1.0
        Assert.True(lane.Accept(Update(2, 1.5)));  // 1.5 - 1.5
        Assert.True(lane.Accept(Update(3, 1.7)));
        Assert.False(lane.Accept(Update(4, 0.5))); // 0.5 - 1.7
        Assert.True(lane.Accept(Update(5, 0.6)));  // 0.6 - 0.5: the refused update moved the last score, as in §7
    }

    [Fact]
    public void A_copy_of_a_refused_update_is_refused_again()
    {
        using var lane = Lane();
        Assert.True(lane.Accept(Update(1, 0.2)));
        Assert.False(lane.Accept(Update(2, 1.5)));
        // The broker redelivers sequence 2: judged against the score before it, not against itself.
        Assert.False(lane.Accept(Update(2, 1.5)));
        Assert.True(lane.Accept(Update(3, 1.6)));
    }
}
