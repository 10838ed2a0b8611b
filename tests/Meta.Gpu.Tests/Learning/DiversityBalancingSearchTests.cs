using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// DESIGN §4 step 5: balancing acts only when H(p) &lt; target - 1e-12, and then bisects t in [0, 1] 60 times,
/// keeping t = lo (the last temperature whose entropy reached the target).
/// </summary>
public sealed class DiversityBalancingSearchTests
{
    private static DomainUpdateInput U(string id, double confidence, float value) => new(id, ["x"], [value], confidence);

    private static readonly CrossMetaConfig Plain = new(Method: AggregationMethod.Mean, OutlierFilter: false);

    [Fact]
    public void Equal_weights_whose_entropy_rounds_just_below_one_are_left_untouched_by_a_target_of_one()
    {
        // 21 equal weights: H(p) computes as 1 - 3e-16 rather than 1; the 1e-12 slack keeps them as they are
        // (without it the search could never reach 1 and would end at t = 0).
        const int n = 21;
        var p = Enumerable.Repeat(1.0 / n, n).ToArray();
        Assert.True(DiversityBalancing.NormalisedEntropy(p) < 1.0, "precondition: the entropy of equal weights rounds below 1");

        var result = CrossDomainMetaAggregator.Aggregate(
            Enumerable.Range(0, n).Select(i => U($"d{i}", 0.5, i)).ToList(), Plain with { DiversityEntropyTarget = 1.0 });

        Assert.Equal(1.0, result.Meta.DiversityTemperature);
        Assert.Equal(n, result.Meta.EffectiveDomains, 9);
        Assert.Equal(10f, result.Vector[0], 5);
    }

    [Fact]
    public void The_bisection_ends_on_the_highest_temperature_that_still_reaches_the_target()
    {
        // After 60 halvings lo and hi are within float64 resolution of each other: the entropy at t reaches the
        // target, and 1e-14 further it no longer does (dH/dt is about -0.55 here, so that is 5e-15 below the
        // target, some 50 ulps; a search cut short stops up to 2^-steps below, more than 1e-14 for 46 steps or fewer).
        const double target = 0.9;
        double[] confidences = [1.0, 0.06, 0.06, 0.06];
        var result = CrossDomainMetaAggregator.Aggregate(
            confidences.Select((c, i) => U($"d{i}", c, i)).ToList(), Plain with { DiversityEntropyTarget = target });

        var t = result.Meta.DiversityTemperature;
        Assert.InRange(t, 0.0, 0.999);
        Assert.True(result.Meta.WeightEntropy >= target, $"weight_entropy {result.Meta.WeightEntropy:R} below the target");
        var further = new double[confidences.Length];
        DiversityBalancing.Tempered(confidences, t + 1e-14, further);
        Assert.True(DiversityBalancing.NormalisedEntropy(further) < target, $"t = {t:R} stops short of the highest temperature reaching {target}");
    }
}
