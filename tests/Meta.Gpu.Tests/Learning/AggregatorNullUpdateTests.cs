using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

public sealed class AggregatorNullUpdateTests
{
    private static DomainMetaUpdate Update(string id) =>
        new(id, ["x"], [1f], Reward: 0.0, Confidence: 0.5, DateTimeOffset.UnixEpoch, ScoreDelta: 0.0);

    [Fact]
    public void A_null_learner_update_is_refused_by_position_as_a_null_input_update_is()
    {
        var aggregator = new CrossDomainMetaAggregator();

        // The DomainUpdateInput overload says "updates[1]: null update"; the learner-update overload threw a
        // NullReferenceException from inside its projection.
        var error = Assert.Throws<InvalidInputException>(() => aggregator.Aggregate(new[] { Update("a"), null!, Update("c") }));

        Assert.Contains("updates[1]", error.Message);
    }
}
