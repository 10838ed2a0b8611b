using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The validator in the dense lane. DESIGN §10: "The validator's rules apply except max_keys; D must match the dense
/// prior (the first update fixes D). The newest valid update per domain is pending." §12: "`confidence` (non-finite,
/// outside [0,1] or below min_confidence; equal passes) ... `score_delta` (non-finite or |score_delta| &gt;
/// max_score_delta), `non_finite` (a vector value)". A refused update is logged with the rules' names, in §12's
/// order, and leaves the domain's pending update, D and the applied sequences as they were.
/// </summary>
public sealed class DenseLaneValidatorTests
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
    };

    private readonly RecordingLogger _log = new();

    private DenseLearningLane Lane(ValidatorConfig? validator = null)
    {
        var config = validator is null ? Config : Config with { Validator = validator };
        return new DenseLearningLane(config, new CpuBackend(), ownsBackend: true, storage: null, new MetaPacketValidator(config.Validator), _log);
    }

    private static DenseUpdate Update(long sequence, float[] vector, double confidence = 0.8, double score = 0.5, string domain = "a") =>
        new(domain, sequence, confidence, new DomainMetrics(MetaScore: score), vector);

    private static float[] Vector(int d, float x = 1f) => [.. Enumerable.Range(0, d).Select(i => x + 0.01f * i)];

    private static float[] WithNaN(int d)
    {
        var v = Vector(d);
        v[^1] = float.NaN;
        return v;
    }

    private static LearningRoundInput Round() => new(0.5, DrgProfile.None, 50, new SchedulerTelemetry());

    private string[] Refusals() =>
        [.. _log.Entries.Where(e => e.Level == LogLevel.Information && e.Message.StartsWith("dense update of domain", StringComparison.Ordinal)).Select(e => e.Message)];

    [Fact]
    public void A_first_update_the_validator_refuses_does_not_fix_d()
    {
        using var lane = Lane();
        Assert.False(lane.Accept(Update(1, WithNaN(5))));
        Assert.False(lane.Accept(Update(1, Vector(6), confidence: 0.05, domain: "b")));
        Assert.Null(lane.D);
        Assert.Null(lane.Optimizer);

        Assert.True(lane.Accept(Update(2, Vector(7))));
        Assert.Equal(7, lane.D);
    }

    [Fact]
    public void A_refused_update_leaves_the_pending_one_in_place_and_the_round_applies_that_one()
    {
        using var refused = Lane();
        using var control = Lane();
        Assert.True(refused.Accept(Update(1, Vector(8, 1f))));
        Assert.True(control.Accept(Update(1, Vector(8, 1f))));

        Assert.False(refused.Accept(Update(2, WithNaN(8))));
        Assert.False(refused.Accept(Update(3, Vector(8, 9f), confidence: 0.05)));
        Assert.False(refused.Accept(Update(4, Vector(8, 9f), score: 2.0)));
        Assert.Equal(["a"], refused.PendingDomains);

        Assert.NotNull(refused.RunRound(Round()));
        Assert.NotNull(control.RunRound(Round()));
        Assert.Equal(control.Optimizer!.Prior.ToArray(), refused.Optimizer!.Prior.ToArray());
        Assert.Equal(1, refused.LastAppliedSequences["a"]);
    }

    [Fact]
    public void Confidence_at_min_confidence_and_at_one_passes_and_the_next_doubles_beyond_are_refused()
    {
        using var lane = Lane();
        Assert.True(lane.Accept(Update(1, Vector(4), confidence: 0.1, domain: "a")));
        Assert.True(lane.Accept(Update(1, Vector(4), confidence: 1.0, domain: "b")));
        Assert.False(lane.Accept(Update(1, Vector(4), confidence: Math.BitDecrement(0.1), domain: "c")));
        Assert.False(lane.Accept(Update(1, Vector(4), confidence: Math.BitIncrement(1.0), domain: "d")));
        Assert.False(lane.Accept(Update(1, Vector(4), confidence: double.NaN, domain: "e")));

        Assert.Equal(["a", "b"], lane.PendingDomains);
        Assert.Equal(
            ["dense update of domain c refused: confidence", "dense update of domain d refused: confidence", "dense update of domain e refused: confidence"],
            Refusals());
    }

    [Fact]
    public void A_score_delta_of_exactly_plus_or_minus_max_passes_and_just_beyond_is_refused()
    {
        using var lane = Lane();
        Assert.True(lane.Accept(Update(1, Vector(4), score: 1.0)));    // 1.0 - 0 (no score yet)
        Assert.True(lane.Accept(Update(2, Vector(4), score: 0.0)));    // -1.0
        Assert.False(lane.Accept(Update(1, Vector(4), score: Math.BitIncrement(1.0), domain: "b")));
        Assert.False(lane.Accept(Update(1, Vector(4), score: Math.BitDecrement(-1.0), domain: "c")));

        Assert.Equal(["a"], lane.PendingDomains);
        Assert.Equal(["dense update of domain b refused: score_delta", "dense update of domain c refused: score_delta"], Refusals());
    }

    [Fact]
    public void Max_keys_does_not_bound_d_even_at_one()
    {
        using var lane = Lane(new ValidatorConfig(MaxKeys: 1));
        Assert.True(lane.Accept(Update(1, Vector(64))));
        Assert.Equal(64, lane.D);
    }

    [Fact]
    public void Every_broken_rule_is_logged_by_name_in_the_design_order()
    {
        using var lane = Lane();
        Assert.False(lane.Accept(Update(1, WithNaN(4), confidence: 2.0, score: 5.0)));

        Assert.Equal(["dense update of domain a refused: confidence, score_delta, non_finite"], Refusals());
    }
}
