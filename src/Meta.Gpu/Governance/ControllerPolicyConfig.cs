using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary><c>controller_policy</c> (DESIGN §5 step 3): exploration and exploitation of tau / gamma_diversity.</summary>
public sealed record ControllerPolicyConfig
{
    public static ControllerPolicyConfig Default { get; } = new();

    /// <summary><c>tau_bounds</c>, default [0.5, 1.2].</summary>
    public KnobBounds TauBounds { get; init; } = new(0.5, 1.2);

    /// <summary><c>gamma_bounds</c> (for gamma_diversity), default [0.1, 0.5].</summary>
    public KnobBounds GammaBounds { get; init; } = new(0.1, 0.5);

    /// <summary><c>tau_step</c>, default 0.1, >= 0.</summary>
    public double TauStep { get; init; } = 0.1;

    /// <summary><c>gamma_step</c>, default 0.05, >= 0.</summary>
    public double GammaStep { get; init; } = 0.05;

    /// <summary><c>accept_low</c>, default 0.06: accept below it explores and is tagged low_accept.</summary>
    public double AcceptLow { get; init; } = 0.06;

    /// <summary><c>stability_high</c>, default 0.8: stability above it (with a gain increase) exploits.</summary>
    public double StabilityHigh { get; init; } = 0.8;

    internal static ControllerPolicyConfig FromJson(JsonObject? json, string path)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, path, "tau_bounds", "gamma_bounds", "tau_step", "gamma_step", "accept_low", "stability_high");
        var d = Default;
        return new ControllerPolicyConfig
        {
            TauBounds = KnobBounds.Read(json, "tau_bounds", d.TauBounds, path),
            GammaBounds = KnobBounds.Read(json, "gamma_bounds", d.GammaBounds, path),
            TauStep = JsonRead.Setting(json, "tau_step", d.TauStep, path),
            GammaStep = JsonRead.Setting(json, "gamma_step", d.GammaStep, path),
            AcceptLow = JsonRead.Setting(json, "accept_low", d.AcceptLow, path),
            StabilityHigh = JsonRead.Setting(json, "stability_high", d.StabilityHigh, path),
        };
    }

    internal void Validate(string path)
    {
        ConfigCheck.Bounds(TauBounds, $"{path}.tau_bounds");
        ConfigCheck.Bounds(GammaBounds, $"{path}.gamma_bounds");
        ConfigCheck.NonNegative(TauStep, $"{path}.tau_step");
        ConfigCheck.NonNegative(GammaStep, $"{path}.gamma_step");
        ConfigCheck.Finite(AcceptLow, $"{path}.accept_low");
        ConfigCheck.Finite(StabilityHigh, $"{path}.stability_high");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["tau_bounds"] = TauBounds.BuildJson(),
        ["gamma_bounds"] = GammaBounds.BuildJson(),
        ["tau_step"] = TauStep,
        ["gamma_step"] = GammaStep,
        ["accept_low"] = AcceptLow,
        ["stability_high"] = StabilityHigh,
    };
}
