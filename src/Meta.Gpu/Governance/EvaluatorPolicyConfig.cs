using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary><c>evaluator_policy</c> (DESIGN §5 step 4): g_min and lambda_ci.</summary>
public sealed record EvaluatorPolicyConfig
{
    public static EvaluatorPolicyConfig Default { get; } = new();

    /// <summary><c>g_min_bounds</c>, default [0.006, 0.02].</summary>
    public KnobBounds GMinBounds { get; init; } = new(0.006, 0.02);

    /// <summary><c>lambda_ci_bounds</c>, default [0.4, 0.6].</summary>
    public KnobBounds LambdaCiBounds { get; init; } = new(0.4, 0.6);

    /// <summary><c>g_min_step</c>, default 0.002, >= 0.</summary>
    public double GMinStep { get; init; } = 0.002;

    /// <summary><c>lambda_ci_step</c>, default 0.05, >= 0.</summary>
    public double LambdaCiStep { get; init; } = 0.05;

    /// <summary><c>accept_low_windows</c>, default 5, >= 0: this many low-accept windows in a row (with accept
    /// below accept_very_low) lower g_min.</summary>
    public int AcceptLowWindows { get; init; } = 5;

    /// <summary><c>accept_very_low</c>, default 0.03.</summary>
    public double AcceptVeryLow { get; init; } = 0.03;

    internal static EvaluatorPolicyConfig FromJson(JsonObject? json, string path)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, path, "g_min_bounds", "lambda_ci_bounds", "g_min_step", "lambda_ci_step",
            "accept_low_windows", "accept_very_low");
        var d = Default;
        return new EvaluatorPolicyConfig
        {
            GMinBounds = KnobBounds.Read(json, "g_min_bounds", d.GMinBounds, path),
            LambdaCiBounds = KnobBounds.Read(json, "lambda_ci_bounds", d.LambdaCiBounds, path),
            GMinStep = JsonRead.Setting(json, "g_min_step", d.GMinStep, path),
            LambdaCiStep = JsonRead.Setting(json, "lambda_ci_step", d.LambdaCiStep, path),
            AcceptLowWindows = JsonRead.SettingInt(json, "accept_low_windows", d.AcceptLowWindows, path),
            AcceptVeryLow = JsonRead.Setting(json, "accept_very_low", d.AcceptVeryLow, path),
        };
    }

    internal void Validate(string path)
    {
        ConfigCheck.Bounds(GMinBounds, $"{path}.g_min_bounds");
        ConfigCheck.Bounds(LambdaCiBounds, $"{path}.lambda_ci_bounds");
        ConfigCheck.NonNegative(GMinStep, $"{path}.g_min_step");
        ConfigCheck.NonNegative(LambdaCiStep, $"{path}.lambda_ci_step");
        ConfigCheck.AtLeast(AcceptLowWindows, 0, $"{path}.accept_low_windows");
        ConfigCheck.Finite(AcceptVeryLow, $"{path}.accept_very_low");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["g_min_bounds"] = GMinBounds.BuildJson(),
        ["lambda_ci_bounds"] = LambdaCiBounds.BuildJson(),
        ["g_min_step"] = GMinStep,
        ["lambda_ci_step"] = LambdaCiStep,
        ["accept_low_windows"] = AcceptLowWindows,
        ["accept_very_low"] = AcceptVeryLow,
    };
}
