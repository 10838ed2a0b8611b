using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// DESIGN §4 step 3's threshold: scale = max(1.4826 * MAD(r), 1e-12), and a domain is flagged only when r_i is
/// strictly above median(r) + z * scale.
/// </summary>
public sealed class OutlierThresholdTests
{
    /// <summary>Default config (outlier pass on, z = 3.5, from 5 domains), weights exactly the confidences.</summary>
    private static readonly CrossMetaConfig Config = CrossMetaConfig.Default with { Method = AggregationMethod.Mean, DiversityEntropyTarget = null };

    private static DomainUpdateInput U(string id, params (string Key, float Value)[] cells) =>
        new(id, cells.Select(c => c.Key).ToArray(), cells.Select(c => c.Value).ToArray(), 1.0);

    [Fact]
    public void Domains_all_equally_far_from_the_medians_are_none_of_them_outliers()
    {
        // Column medians are 0 and every r_i is exactly 1e6, so MAD = 0 and the threshold is 1e6 + 3.5 * 1e-12,
        // which rounds to 1e6 itself: r_i equals the threshold, and only r_i > threshold is flagged.
        const float a = 1e6f;
        var result = CrossDomainMetaAggregator.Aggregate(
        [
            U("p0", ("x", a), ("y", -a)), U("p1", ("x", a), ("y", -a)), U("p2", ("x", a), ("y", -a)),
            U("n0", ("x", -a), ("y", a)), U("n1", ("x", -a), ("y", a)), U("n2", ("x", -a), ("y", a)),
        ], Config);

        Assert.Empty(result.Meta.Outliers);
        Assert.Equal(6, result.Meta.Participants);
        Assert.Equal([0f, 0f], result.Vector);
    }

    [Fact]
    public void A_mad_of_zero_leaves_a_scale_of_1e_12_so_only_distances_above_z_times_1e_12_are_flagged()
    {
        // Four domains agree exactly (r = 0, so median(r) = MAD = 0); the fifth is off by r. With the 1e-12 floor
        // the threshold is 3.5e-12: r = 1e-13 stays, r = 1e-11 goes.
        DomainUpdateInput[] Round(float off) =>
            [U("a", ("x", 0f)), U("b", ("x", 0f)), U("c", ("x", 0f)), U("d", ("x", 0f)), U("e", ("x", off))];

        var within = CrossDomainMetaAggregator.Aggregate(Round(1e-13f), Config);
        var beyond = CrossDomainMetaAggregator.Aggregate(Round(1e-11f), Config);

        Assert.Empty(within.Meta.Outliers);
        Assert.Equal(5, within.Meta.Participants);
        Assert.Equal(["e"], beyond.Meta.Outliers);
        Assert.Equal(4, beyond.Meta.Participants);
    }
}
