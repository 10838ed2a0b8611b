using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning.Aggregation;

/// <summary>
/// Cross-domain aggregation settings (DESIGN §4, config section <c>cross</c>). Defaults are the design's.
/// </summary>
/// <param name="Method">Column combine rule; default trimmed mean.</param>
/// <param name="TrimAlpha">Share trimmed from each end, 0 &lt;= a &lt; 0.5; default 0.1.</param>
/// <param name="MinConfidence">Updates below this confidence are rejected (equal is kept), &gt; 0; default 0.05.</param>
/// <param name="Weighting">Domain weights from confidence (default) or uniform.</param>
/// <param name="MissingKeys">Absent cells ignored (default) or taken as 0.</param>
/// <param name="OutlierFilter">Run the single outlier pass when n &gt;= <paramref name="OutlierMinDomains"/>; default on.</param>
/// <param name="OutlierZ">Robust z threshold, &gt; 0; default 3.5.</param>
/// <param name="OutlierMinDomains">Fewest eligible domains for the outlier pass; default 5.</param>
/// <param name="DiversityEntropyTarget">Normalised weight entropy to reach, in (0, 1]; null turns balancing off; default 0.9.</param>
public sealed record CrossMetaConfig(
    AggregationMethod Method = AggregationMethod.TrimmedMean,
    double TrimAlpha = 0.1,
    double MinConfidence = 0.05,
    DomainWeighting Weighting = DomainWeighting.Confidence,
    MissingKeys MissingKeys = MissingKeys.Ignore,
    bool OutlierFilter = true,
    double OutlierZ = 3.5,
    int OutlierMinDomains = 5,
    double? DiversityEntropyTarget = 0.9)
{
    public static CrossMetaConfig Default { get; } = new();

    /// <summary>The settings of the reference implementation: with these the result equals it exactly.</summary>
    public static CrossMetaConfig Compat { get; } = new(
        Weighting: DomainWeighting.Uniform, MissingKeys: MissingKeys.Zero, OutlierFilter: false, DiversityEntropyTarget: null);

    private static readonly string[] Keys =
    [
        "method", "trim_alpha", "min_confidence", "weighting", "missing_keys", "outlier_filter", "outlier_z",
        "outlier_min_domains", "diversity_entropy_target",
    ];

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first field out of range.</summary>
    public CrossMetaConfig Validated(string path = "cross")
    {
        // A cast value outside the enum failed every round later, deep in a kernel (on the cpu backend wrapped in
        // the parallel loop's AggregateException).
        if (!Enum.IsDefined(Method)) throw new InvalidInputException(FormattableString.Invariant($"{path}.method: not a method ({(int)Method})"));
        if (!Enum.IsDefined(Weighting)) throw new InvalidInputException(FormattableString.Invariant($"{path}.weighting: not a weighting ({(int)Weighting})"));
        if (!Enum.IsDefined(MissingKeys)) throw new InvalidInputException(FormattableString.Invariant($"{path}.missing_keys: not a missing-keys rule ({(int)MissingKeys})"));
        if (!(TrimAlpha >= 0 && TrimAlpha < 0.5)) throw new InvalidInputException(FormattableString.Invariant($"{path}.trim_alpha: must be in [0, 0.5), got {TrimAlpha}"));
        if (!(MinConfidence > 0) || !double.IsFinite(MinConfidence)) throw new InvalidInputException(FormattableString.Invariant($"{path}.min_confidence: must be > 0, got {MinConfidence}"));
        if (!(OutlierZ > 0) || !double.IsFinite(OutlierZ)) throw new InvalidInputException(FormattableString.Invariant($"{path}.outlier_z: must be > 0, got {OutlierZ}"));
        if (OutlierMinDomains < 1) throw new InvalidInputException(FormattableString.Invariant($"{path}.outlier_min_domains: must be >= 1, got {OutlierMinDomains}"));
        if (DiversityEntropyTarget is double t && !(t > 0 && t <= 1))
            throw new InvalidInputException(FormattableString.Invariant($"{path}.diversity_entropy_target: must be in (0, 1] or null, got {t}"));
        return this;
    }

    /// <summary>
    /// Applies a JSON section over these settings: a missing key keeps this value, an explicit null turns
    /// <c>diversity_entropy_target</c> or <c>outlier_filter</c> off (elsewhere it keeps the value), an unknown key
    /// is an error.
    /// </summary>
    public CrossMetaConfig With(JsonObject? section, string path = "cross")
    {
        if (section is null) return Validated(path);
        JsonRead.RequireKnownKeys(section, path, Keys);
        var result = this with
        {
            // A null name keeps the value, as a null number does (the rule above; it read as an unknown name "").
            Method = section["method"] is null ? Method : AggregationNames.ParseMethod(JsonRead.String(section, "method", "", path), $"{path}.method"),
            TrimAlpha = JsonRead.Setting(section, "trim_alpha", TrimAlpha, path),
            MinConfidence = JsonRead.Setting(section, "min_confidence", MinConfidence, path),
            Weighting = section["weighting"] is not null ? AggregationNames.ParseWeighting(JsonRead.String(section, "weighting", "", path), $"{path}.weighting") : Weighting,
            MissingKeys = section["missing_keys"] is not null ? AggregationNames.ParseMissingKeys(JsonRead.String(section, "missing_keys", "", path), $"{path}.missing_keys") : MissingKeys,
            // An explicit null means off (DESIGN §14), as for diversity_entropy_target.
            OutlierFilter = section.TryGetPropertyValue("outlier_filter", out var filter) && filter is null
                ? false
                : JsonRead.Bool(section, "outlier_filter", OutlierFilter, path),
            OutlierZ = JsonRead.Setting(section, "outlier_z", OutlierZ, path),
            OutlierMinDomains = JsonRead.SettingInt(section, "outlier_min_domains", OutlierMinDomains, path),
            DiversityEntropyTarget = section.ContainsKey("diversity_entropy_target")
                ? JsonRead.OptionalSetting(section, "diversity_entropy_target", path)
                : DiversityEntropyTarget,
        };
        return result.Validated(path);
    }

    public JsonObject ToJson() => new()
    {
        ["method"] = AggregationNames.Of(Method),
        ["trim_alpha"] = TrimAlpha,
        ["min_confidence"] = MinConfidence,
        ["weighting"] = AggregationNames.Of(Weighting),
        ["missing_keys"] = AggregationNames.Of(MissingKeys),
        ["outlier_filter"] = OutlierFilter,
        ["outlier_z"] = OutlierZ,
        ["outlier_min_domains"] = OutlierMinDomains,
        ["diversity_entropy_target"] = DiversityEntropyTarget is double t ? JsonValue.Create(t) : null,
    };
}
