using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning.Aggregation;

/// <summary>
/// What an aggregation did (DESIGN §4 step 7). Wire names are the snake_case of the members; see
/// <see cref="ToJson"/>.
/// </summary>
/// <param name="Participants">Kept domains (eligible and not dropped as outliers).</param>
/// <param name="RejectedLowConfidence">Updates whose confidence was non-finite or below the minimum.</param>
/// <param name="RejectedNonfinite">Updates with a NaN or infinite value.</param>
/// <param name="RejectedEmpty">Updates with no keys.</param>
/// <param name="Outliers">Domain ids dropped by the outlier pass, in row (input) order.</param>
/// <param name="Method">The column rule used.</param>
/// <param name="TrimAlpha">The configured trim share (reported whatever the method).</param>
/// <param name="ConfidenceMean">Mean raw confidence of the kept domains; 0 when none.</param>
/// <param name="WeightEntropy">Normalised entropy of the final weights; 1 when fewer than two domains.</param>
/// <param name="DiversityTemperature">The exponent t of the balanced weights; 1 when balancing did not act.</param>
/// <param name="EffectiveDomains">1 / sum p^2 of the final weights; 0 when none.</param>
public sealed record AggregationMeta(
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
    double EffectiveDomains)
{
    /// <summary>The meta of an aggregation with no eligible update (DESIGN §4 step 7).</summary>
    public static AggregationMeta Empty(CrossMetaConfig config, int rejectedLowConfidence, int rejectedNonfinite, int rejectedEmpty) =>
        new(0, rejectedLowConfidence, rejectedNonfinite, rejectedEmpty, [], config.Method, config.TrimAlpha, 0.0, 1.0, 1.0, 0.0);

    /// <summary>Writes the fields into <paramref name="target"/> (snake_case; non-finite numbers as strings).</summary>
    public JsonObject WriteTo(JsonObject target)
    {
        target["participants"] = Participants;
        target["rejected_low_confidence"] = RejectedLowConfidence;
        target["rejected_nonfinite"] = RejectedNonfinite;
        target["rejected_empty"] = RejectedEmpty;
        target["outliers"] = new JsonArray(Outliers.Select(id => (JsonNode?)JsonValue.Create(id)).ToArray());
        target["method"] = AggregationNames.Of(Method);
        target["trim_alpha"] = WireJson.Number(TrimAlpha);
        target["confidence_mean"] = WireJson.Number(ConfidenceMean);
        target["weight_entropy"] = WireJson.Number(WeightEntropy);
        target["diversity_temperature"] = WireJson.Number(DiversityTemperature);
        target["effective_domains"] = WireJson.Number(EffectiveDomains);
        return target;
    }

    /// <summary>The meta as a JSON object (the wire form: bus payloads, the CLI).</summary>
    public JsonObject ToJson() => WriteTo(new JsonObject());
}
