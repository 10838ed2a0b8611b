using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// DESIGN §4 step 7: with no eligible update the result is empty, yet each rejection count still says how many
/// updates broke that rule.
/// </summary>
public sealed class EmptyAggregationCountsTests
{
    [Fact]
    public void No_eligible_update_still_reports_each_rejection_under_its_own_count()
    {
        var result = CrossDomainMetaAggregator.Aggregate(
        [
            new DomainUpdateInput("empty", [], [], 1.0),
            new DomainUpdateInput("nan", ["x"], [float.NaN], 1.0),
            new DomainUpdateInput("inf", ["x"], [float.NegativeInfinity], 1.0),
            new DomainUpdateInput("low0", ["x"], [1f], 0.01),
            new DomainUpdateInput("low1", ["x"], [1f], 0.0),
            new DomainUpdateInput("low2", ["x"], [1f], double.PositiveInfinity),
        ], CrossMetaConfig.Default);

        var meta = result.Meta;
        Assert.Empty(result.Vector);
        Assert.Equal(0, meta.Participants);
        Assert.Equal(1, meta.RejectedEmpty);
        Assert.Equal(2, meta.RejectedNonfinite);
        Assert.Equal(3, meta.RejectedLowConfidence);
    }
}
