using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The learner's confidence at the edges of its rule (DESIGN §7): "confidence = decay*c + (1-decay)*max(stability,
/// floor), + boost when score_delta &gt; 0 and this is not the domain's first observation ...; clipped to [0,1].
/// meta_lr = lr_min + (lr_max - lr_min)*confidence (the new confidence)."
/// </summary>
public sealed class DomainConfidenceRuleTests
{
    private static readonly Dictionary<string, double> Tau = new(StringComparer.Ordinal) { ["tau"] = 1.0 };

    [Fact]
    public void An_unchanged_score_earns_no_boost()
    {
        // score_delta 0 is not > 0: 0.9 * 0.09 + 0.1 * 0.9 = 0.171 (a boost would make it 0.221).
        var learner = new DomainMetaLearner();
        var first = learner.Observe("d", new DomainMetrics(MetaScore: 0.5, StabilityAvg: 0.9), Tau);
        var same = learner.Observe("d", new DomainMetrics(MetaScore: 0.5, StabilityAvg: 0.9), Tau);

        Assert.Equal(0.09, first.Confidence, 12);
        Assert.Equal(0.0, same.ScoreDelta);
        Assert.Equal(0.9 * 0.09 + 0.1 * 0.9, same.Confidence, 12);
    }

    [Fact]
    public void A_steadily_rising_fully_stable_domain_is_clipped_at_confidence_one_and_stays_valid()
    {
        // c' = 0.9 c + 0.1 * 1 + 0.05 heads for 1.5: from the 11th observation on it passes 1 and is clipped to 1,
        // which the validator accepts (above 1 it refuses "confidence"), and meta_lr is then meta_lr_max.
        var learner = new DomainMetaLearner(new DomainLearnerConfig(UpdateRule: UpdateRule.Delta));
        DomainMetaUpdate update = null!;
        for (var i = 1; i <= 20; i++)
            update = learner.Observe("d", new DomainMetrics(MetaScore: 0.01 * i, StabilityAvg: 1.0),
                new Dictionary<string, double> { ["tau"] = i });

        Assert.Equal(1.0, update.Confidence);
        Assert.Equal(1.0, learner.State("d")!.Confidence);
        Assert.Empty(new MetaPacketValidator().Validate(update));
        Assert.Equal((float)(0.2 * (20 - 19)), update.Vector[0]); // meta_lr_max * (20 - 19)
    }
}
