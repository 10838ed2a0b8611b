using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The keyed reference's result in the shape the agreement checks read.</summary>
public sealed record KeyedResult(
    SortedDictionary<string, double> Values, int Participants, int RejectedLowConfidence, int RejectedNonfinite,
    int RejectedEmpty, IReadOnlyList<string> Outliers, double ConfidenceMean, double WeightEntropy, double DiversityTemperature,
    double EffectiveDomains);

/// <summary>Runs the float64 keyed reference (<see cref="CrossDomainMetaAggregator"/>) on keyed updates.</summary>
public static class KeyedReference
{
    public static KeyedResult Aggregate(IReadOnlyList<DomainUpdateInput> updates, CrossMetaConfig config)
    {
        var result = CrossDomainMetaAggregator.Aggregate(updates, config);
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < result.Keys.Count; i++) values[result.Keys[i]] = result.Vector[i];
        var m = result.Meta;
        return new KeyedResult(values, m.Participants, m.RejectedLowConfidence, m.RejectedNonfinite, m.RejectedEmpty, m.Outliers,
            m.ConfidenceMean, m.WeightEntropy, m.DiversityTemperature, m.EffectiveDomains);
    }
}
