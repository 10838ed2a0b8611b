using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>
/// Per-domain learner settings (DESIGN §7, config section <c>domain</c>). Defaults are the design's.
/// </summary>
/// <param name="EmaAlpha">Score EMA weight of the new score, in (0, 1]; 0.3.</param>
/// <param name="MetaLrMin">meta_lr at confidence 0; 0.05.</param>
/// <param name="MetaLrMax">meta_lr at confidence 1 (&gt;= min); 0.2.</param>
/// <param name="StabilityFloor">Lowest stability credited to confidence, in [0, 1]; 0.1.</param>
/// <param name="ConfidenceDecay">Weight of the previous confidence, in [0, 1]; 0.9.</param>
/// <param name="ConfidenceBoost">Added when the score improved (not on a first observation), &gt;= 0; 0.05.</param>
/// <param name="MaxHistory">Score deltas kept per domain, &gt;= 1; 20.</param>
/// <param name="UpdateRule"><c>interpolate</c> (default: the update carries the parameters) or <c>delta</c>.</param>
public sealed record DomainLearnerConfig(
    double EmaAlpha = 0.3,
    double MetaLrMin = 0.05,
    double MetaLrMax = 0.2,
    double StabilityFloor = 0.1,
    double ConfidenceDecay = 0.9,
    double ConfidenceBoost = 0.05,
    int MaxHistory = 20,
    UpdateRule UpdateRule = UpdateRule.Interpolate)
{
    public static DomainLearnerConfig Default { get; } = new();

    private static readonly string[] Keys =
    [
        "ema_alpha", "meta_lr_min", "meta_lr_max", "stability_floor", "confidence_decay", "confidence_boost",
        "max_history", "update_rule",
    ];

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first field out of range.</summary>
    public DomainLearnerConfig Validated(string path = "domain")
    {
        // As the optimizer's: an undefined rule ran as interpolate, and the agent's rule check then named two equal
        // rules ("interpolate and interpolate must be the same rule").
        if (!Enum.IsDefined(UpdateRule)) throw new InvalidInputException(FormattableString.Invariant($"{path}.update_rule: not an update rule ({(int)UpdateRule})"));
        if (!(EmaAlpha > 0 && EmaAlpha <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.ema_alpha: must be in (0, 1], got {EmaAlpha}"));
        if (!double.IsFinite(MetaLrMin) || MetaLrMin < 0) throw new InvalidInputException(FormattableString.Invariant($"{path}.meta_lr_min: must be >= 0, got {MetaLrMin}"));
        if (!double.IsFinite(MetaLrMax) || MetaLrMax < MetaLrMin) throw new InvalidInputException(FormattableString.Invariant($"{path}.meta_lr_max: must be >= meta_lr_min ({MetaLrMin}), got {MetaLrMax}"));
        if (!(StabilityFloor >= 0 && StabilityFloor <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.stability_floor: must be in [0, 1], got {StabilityFloor}"));
        if (!(ConfidenceDecay >= 0 && ConfidenceDecay <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.confidence_decay: must be in [0, 1], got {ConfidenceDecay}"));
        if (!double.IsFinite(ConfidenceBoost) || ConfidenceBoost < 0) throw new InvalidInputException(FormattableString.Invariant($"{path}.confidence_boost: must be >= 0, got {ConfidenceBoost}"));
        if (MaxHistory < 1) throw new InvalidInputException(FormattableString.Invariant($"{path}.max_history: must be >= 1, got {MaxHistory}"));
        return this;
    }

    /// <summary>Applies a JSON section (snake_case) over these settings; a missing key keeps this value, an
    /// unknown key is an error.</summary>
    public DomainLearnerConfig With(JsonObject? section, string path = "domain")
    {
        if (section is null) return Validated(path);
        JsonRead.RequireKnownKeys(section, path, Keys);
        return (this with
        {
            EmaAlpha = JsonRead.Setting(section, "ema_alpha", EmaAlpha, path),
            MetaLrMin = JsonRead.Setting(section, "meta_lr_min", MetaLrMin, path),
            MetaLrMax = JsonRead.Setting(section, "meta_lr_max", MetaLrMax, path),
            StabilityFloor = JsonRead.Setting(section, "stability_floor", StabilityFloor, path),
            ConfidenceDecay = JsonRead.Setting(section, "confidence_decay", ConfidenceDecay, path),
            ConfidenceBoost = JsonRead.Setting(section, "confidence_boost", ConfidenceBoost, path),
            MaxHistory = JsonRead.SettingInt(section, "max_history", MaxHistory, path),
            UpdateRule = JsonRead.Has(section, "update_rule")
                ? UpdateRuleNames.Parse(JsonRead.String(section, "update_rule", "", path), $"{path}.update_rule")
                : UpdateRule,
        }).Validated(path);
    }

    public JsonObject ToJson() => new()
    {
        ["ema_alpha"] = EmaAlpha,
        ["meta_lr_min"] = MetaLrMin,
        ["meta_lr_max"] = MetaLrMax,
        ["stability_floor"] = StabilityFloor,
        ["confidence_decay"] = ConfidenceDecay,
        ["confidence_boost"] = ConfidenceBoost,
        ["max_history"] = MaxHistory,
        ["update_rule"] = UpdateRuleNames.Of(UpdateRule),
    };
}
