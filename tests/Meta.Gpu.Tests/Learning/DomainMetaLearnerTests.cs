using Meta.Gpu.Learning;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Learning;

public sealed class DomainMetaLearnerTests
{
    private static Dictionary<string, double> P(params (string Key, double Value)[] entries) =>
        entries.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);

    [Fact]
    public void Interpolate_rule_sends_the_current_parameters_in_key_order()
    {
        var learner = new DomainMetaLearner();

        var update = learner.Observe("retail", new DomainMetrics(GainP50: 0.4, StabilityAvg: 0.7), P(("tau", 0.9), ("g_min", 0.01)));

        Assert.Equal(["g_min", "tau"], update.Keys);
        Assert.Equal([0.01f, 0.9f], update.Vector);
        Assert.Equal(0.4, update.Reward);
        Assert.Equal(0.4, update.ScoreDelta);
        // First observation: 0.9 * 0 + 0.1 * 0.7, no boost: below the validator's 0.1.
        Assert.Equal(0.07, update.Confidence, 12);
        Assert.False(new MetaPacketValidator().ValidateUpdate(update));
    }

    [Theory]
    [InlineData("stability_avg")]
    [InlineData("meta_score")]
    [InlineData("gain_p50")]
    public void A_non_finite_metric_is_refused_naming_it_and_the_domain_keeps_earning_trust(string metric)
    {
        // One NaN stability used to leave the confidence NaN for good: every later pack of the domain refused.
        var learner = new DomainMetaLearner();
        learner.Observe("d", new DomainMetrics(MetaScore: 0.2, StabilityAvg: 0.9), P(("tau", 1)));
        var before = learner.State("d")!;
        var bad = metric switch
        {
            "stability_avg" => new DomainMetrics(MetaScore: 0.3, StabilityAvg: double.NaN),
            "meta_score" => new DomainMetrics(MetaScore: double.PositiveInfinity, StabilityAvg: 0.9),
            _ => new DomainMetrics(GainP50: double.NaN, StabilityAvg: 0.9),
        };

        var error = Assert.Throws<InvalidInputException>(() => learner.Observe("d", bad, P(("tau", 1))));

        Assert.StartsWith($"domain \"d\" metrics.{metric}: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, learner.State("d"));
        var next = learner.Observe("d", new DomainMetrics(MetaScore: 0.5, StabilityAvg: 0.9), P(("tau", 1)));
        Assert.Equal(0.9 * 0.09 + 0.1 * 0.9 + 0.05, next.Confidence, 12);
    }

    [Theory]
    [InlineData("last_score")]
    [InlineData("ema_score")]
    public void Restore_refuses_a_non_finite_score_naming_it_and_keeps_every_domain(string field)
    {
        // A NaN last score made the domain's next score_delta NaN (its pack refused), and a NaN score EMA stayed
        // NaN for good, saved as such at every round.
        var learner = new DomainMetaLearner();
        learner.Observe("d", new DomainMetrics(MetaScore: 0.2, StabilityAvg: 0.9), P(("tau", 1)));
        var before = learner.State("d");
        var saved = new SavedDomainLearner(field == "ema_score" ? double.NaN : 0.3, field == "last_score" ? double.PositiveInfinity : 0.3,
            0.5, [0.1], new Dictionary<string, double> { ["tau"] = 1 }, 4, null);

        var error = Assert.Throws<InvalidInputException>(() =>
            learner.Restore(new Dictionary<string, SavedDomainLearner> { ["d"] = saved, ["e"] = saved with { LastScore = 0.3, EmaScore = 0.3 } }));

        Assert.StartsWith($"learner state of \"d\": {field}: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, learner.State("d"));
        Assert.Equal(["d"], learner.Domains);
    }

    [Fact]
    public void A_non_finite_gain_p50_beside_a_meta_score_is_not_read_and_refuses_nothing()
    {
        // §7: score = meta_score, else gain_p50: with meta_score there, gain_p50 is never used (a domain with no
        // accepted candidate reports it NaN), yet the whole pack was refused for it.
        var learner = new DomainMetaLearner();
        var metrics = System.Text.Json.Nodes.JsonNode.Parse("""{"meta_score": 0.3, "gain_p50": "nan", "stability_avg": 0.9}""")!.AsObject();

        var update = learner.Observe("d", metrics, P(("tau", 1)));

        Assert.Equal(0.3, update.Reward);
        Assert.Equal(0.3, update.ScoreDelta);
        Assert.Equal(0.09, update.Confidence, 12);
    }

    [Fact]
    public void Confidence_is_earned_over_windows_with_a_boost_when_the_score_rises()
    {
        var learner = new DomainMetaLearner();
        learner.Observe("d", new DomainMetrics(MetaScore: 0.2, StabilityAvg: 0.9), P(("tau", 1)));
        var second = learner.Observe("d", new DomainMetrics(MetaScore: 0.5, StabilityAvg: 0.9), P(("tau", 1)));

        Assert.Equal(0.9 * 0.09 + 0.1 * 0.9 + 0.05, second.Confidence, 12);
        Assert.Equal(0.3, second.ScoreDelta, 12);
        Assert.True(new MetaPacketValidator().ValidateUpdate(second));
        var state = learner.State("d")!;
        Assert.Equal(0.7 * 0.2 + 0.3 * 0.5, state.EmaScore!.Value, 12);
        Assert.Equal(2, state.HistoryLength);
    }

    [Fact]
    public void Score_falls_back_from_meta_score_to_gain_p50_to_zero_and_stability_to_the_floor()
    {
        var learner = new DomainMetaLearner();
        Assert.Equal(0.3, learner.Observe("a", new DomainMetrics(MetaScore: 0.3, GainP50: 0.9), P()).Reward);
        Assert.Equal(0.9, learner.Observe("b", new DomainMetrics(GainP50: 0.9), P()).Reward);
        var none = learner.Observe("c", new DomainMetrics(), P());
        Assert.Equal(0.0, none.Reward);
        Assert.Equal(0.1 * 0.1, none.Confidence, 12);
    }

    [Fact]
    public void Delta_rule_scales_the_change_by_meta_lr_with_unseen_names_from_zero()
    {
        var learner = new DomainMetaLearner(new DomainLearnerConfig(UpdateRule: UpdateRule.Delta));
        var first = learner.Observe("d", new DomainMetrics(GainP50: 0.1, StabilityAvg: 0.5), P(("a", 2.0)));
        var lr1 = 0.05 + 0.15 * first.Confidence;
        Assert.Equal((float)(lr1 * 2.0), first.Vector[0]);

        var second = learner.Observe("d", new DomainMetrics(GainP50: 0.1, StabilityAvg: 0.5), P(("a", 3.0), ("b", 1.0)));
        var lr2 = 0.05 + 0.15 * second.Confidence;
        Assert.Equal([(float)(lr2 * 1.0), (float)(lr2 * 1.0)], second.Vector);
    }

    [Fact]
    public void History_is_capped_at_max_history()
    {
        var learner = new DomainMetaLearner(new DomainLearnerConfig(MaxHistory: 3));
        for (var i = 0; i < 10; i++) learner.Observe("d", new DomainMetrics(GainP50: i), P());
        Assert.Equal(3, learner.State("d")!.HistoryLength);
        Assert.Null(learner.State("other"));
    }

    [Fact]
    public void An_empty_domain_id_is_refused_without_state()
    {
        var learner = new DomainMetaLearner();
        Assert.Throws<InvalidInputException>(() => learner.Observe("", new DomainMetrics(), P()));
        Assert.Empty(learner.Domains);
    }

    [Fact]
    public void Restore_keeps_the_newest_max_history_deltas_of_a_longer_saved_history()
    {
        // A history saved under a larger max_history keeps its newest deltas, as the next observation would.
        var learner = new DomainMetaLearner(new DomainLearnerConfig(MaxHistory: 3));
        var saved = new SavedDomainLearner(0.5, 0.5, 0.5, [0.1, 0.2, 0.3, 0.4, 0.5], new Dictionary<string, double> { ["tau"] = 1 }, 5, null);

        learner.Restore(new Dictionary<string, SavedDomainLearner> { ["d"] = saved });

        Assert.Equal(3, learner.State("d")!.HistoryLength);
        Assert.Equal([0.3, 0.4, 0.5], learner.Snapshot()["d"].History);
    }
}
