using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>
/// The metrics a domain reports with its parameters (DESIGN §7). Missing values are null; other fields of the
/// payload are ignored.
/// </summary>
public sealed record DomainMetrics(double? MetaScore = null, double? GainP50 = null, double? StabilityAvg = null)
{
    /// <summary>meta_score, else gain_p50, else 0.</summary>
    public double Score => MetaScore ?? GainP50 ?? 0.0;

    /// <summary>stability_avg, else 0.</summary>
    public double Stability => StabilityAvg ?? 0.0;

    /// <summary>
    /// Throws an <see cref="InvalidInputException"/> naming the first metric used that is NaN or infinite (under
    /// <paramref name="path"/>). The learner refuses such a report before it changes anything: a NaN stability
    /// would leave the domain's confidence NaN for good (every later pack refused by the validator), and a NaN
    /// score its score EMA. gain_p50 beside a meta_score is never read, so it is not checked either.
    /// </summary>
    public void CheckFinite(string path = "metrics")
    {
        Check(MetaScore, "meta_score");
        if (MetaScore is null) Check(GainP50, "gain_p50");
        Check(StabilityAvg, "stability_avg");

        void Check(double? value, string key) => JsonRead.RequireFinite(value, JsonRead.Join(path, key), "value");
    }

    /// <summary>Reads meta_score, gain_p50 and stability_avg (missing or null = absent; other keys ignored).</summary>
    public static DomainMetrics FromJson(JsonObject? metrics, string path = "metrics") => new(
        JsonRead.OptionalNumber(metrics, "meta_score", path),
        JsonRead.OptionalNumber(metrics, "gain_p50", path),
        JsonRead.OptionalNumber(metrics, "stability_avg", path));
}
