using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>Update validation settings (DESIGN §12, config section <c>validator</c>).</summary>
/// <param name="MinConfidence">Lowest confidence accepted (equal passes), in [0, 1]; 0.1.</param>
/// <param name="MaxKeys">Most keys a (keyed) update may carry, &gt;= 1; 32.</param>
/// <param name="MaxScoreDelta">Largest |score_delta| accepted, &gt;= 0; 1.0.</param>
public sealed record ValidatorConfig(double MinConfidence = 0.1, int MaxKeys = 32, double MaxScoreDelta = 1.0)
{
    public static ValidatorConfig Default { get; } = new();

    public ValidatorConfig Validated(string path = "validator")
    {
        if (!(MinConfidence >= 0 && MinConfidence <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.min_confidence: must be in [0, 1], got {MinConfidence}"));
        if (MaxKeys < 1) throw new InvalidInputException(FormattableString.Invariant($"{path}.max_keys: must be >= 1, got {MaxKeys}"));
        if (!(MaxScoreDelta >= 0) || double.IsNaN(MaxScoreDelta)) throw new InvalidInputException(FormattableString.Invariant($"{path}.max_score_delta: must be >= 0, got {MaxScoreDelta}"));
        return this;
    }

    /// <summary>Applies a JSON section over these settings; unknown keys are an error.</summary>
    public ValidatorConfig With(JsonObject? section, string path = "validator")
    {
        if (section is null) return Validated(path);
        JsonRead.RequireKnownKeys(section, path, "min_confidence", "max_keys", "max_score_delta");
        return (this with
        {
            MinConfidence = JsonRead.Setting(section, "min_confidence", MinConfidence, path),
            MaxKeys = JsonRead.SettingInt(section, "max_keys", MaxKeys, path),
            MaxScoreDelta = JsonRead.Setting(section, "max_score_delta", MaxScoreDelta, path),
        }).Validated(path);
    }

    public JsonObject ToJson() => new()
    {
        ["min_confidence"] = MinConfidence,
        ["max_keys"] = MaxKeys,
        // Infinite turns the score_delta rule off; JSON has no token for it, so it is written as "inf".
        ["max_score_delta"] = WireJson.Number(MaxScoreDelta),
    };
}
