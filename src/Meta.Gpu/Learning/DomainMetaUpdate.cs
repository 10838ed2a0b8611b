using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Learning;

/// <summary>
/// One domain's observation turned into an update (DESIGN §2, §7): ordinal-sorted parameter names, the float32
/// values (current parameters, or meta_lr-scaled deltas under the <c>delta</c> rule), the reward (= the score),
/// the domain's confidence after this observation, when it was made, and the score change since the last one.
/// </summary>
public sealed record DomainMetaUpdate(
    string DomainId,
    IReadOnlyList<string> Keys,
    float[] Vector,
    double Reward,
    double Confidence,
    DateTimeOffset Timestamp,
    double ScoreDelta)
{
    /// <summary>The aggregator's view of this update.</summary>
    public DomainUpdateInput ToAggregationInput() => new(DomainId, Keys, Vector, Confidence);
}
