using System.Text.Json.Nodes;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Compute;

/// <summary>
/// What one dense aggregation did (DESIGN §4 step 7, dense form): the aggregate (null when the fused path did
/// not write it), the columns flagged empty (no present cell among the kept rows: NaN in the aggregate, the
/// prior's value unchanged), and the meta fields with the keyed aggregator's names.
/// </summary>
public sealed record DenseAggregationResult(
    float[]? Aggregate,
    int Columns,
    IReadOnlyList<int> EmptyColumns,
    int Participants,
    int RejectedLowConfidence,
    int RejectedNonfinite,
    int RejectedEmpty,
    IReadOnlyList<string> Outliers,
    AggregationMethod Method,
    double TrimAlpha,
    double ConfidenceMean,
    double WeightEntropy,
    double DiversityTemperature,
    double EffectiveDomains,
    string Backend)
{
    /// <summary>The meta fields (snake_case, as the keyed aggregator writes them) plus <c>empty_columns</c> and
    /// <c>backend</c>.</summary>
    public JsonObject MetaJson() => new()
    {
        ["participants"] = Participants,
        ["rejected_low_confidence"] = RejectedLowConfidence,
        ["rejected_nonfinite"] = RejectedNonfinite,
        ["rejected_empty"] = RejectedEmpty,
        ["outliers"] = new JsonArray(Outliers.Select(id => (JsonNode?)JsonValue.Create(id)).ToArray()),
        ["method"] = AggregationNames.Of(Method),
        ["trim_alpha"] = WireJson.Number(TrimAlpha),
        ["confidence_mean"] = WireJson.Number(ConfidenceMean),
        ["weight_entropy"] = WireJson.Number(WeightEntropy),
        ["diversity_temperature"] = WireJson.Number(DiversityTemperature),
        ["effective_domains"] = WireJson.Number(EffectiveDomains),
        ["empty_columns"] = EmptyColumns.Count,
        ["backend"] = Backend,
    };
}
