using Meta.Gpu.Compute;

namespace Meta.Gpu.Learning;

/// <summary>
/// What a domain update carries and how the prior moves toward it (DESIGN §7, §8). Wire names
/// <c>interpolate</c> (default) and <c>delta</c>.
/// </summary>
public enum UpdateRule
{
    /// <summary>The learner sends the current parameter values; the optimizer takes a Reptile step
    /// prior += beta * (v - prior) (the seed's rule).</summary>
    Interpolate,

    /// <summary>The learner sends meta_lr * (params - previous params); the optimizer adds beta * v (the
    /// reference's rule).</summary>
    Delta,
}

/// <summary>The wire names of <see cref="UpdateRule"/>.</summary>
public static class UpdateRuleNames
{
    public static string Of(UpdateRule rule) => rule == UpdateRule.Delta ? "delta" : "interpolate";

    public static UpdateRule Parse(string text, string path) => text switch
    {
        "interpolate" => UpdateRule.Interpolate,
        "delta" => UpdateRule.Delta,
        _ => throw new InvalidInputException($"{path}: unknown update rule \"{text}\" (interpolate, delta)"),
    };

    /// <summary>The same rule for the dense Reptile step.</summary>
    public static ReptileRule ToReptileRule(this UpdateRule rule) => rule == UpdateRule.Delta ? ReptileRule.Delta : ReptileRule.Interpolate;
}
