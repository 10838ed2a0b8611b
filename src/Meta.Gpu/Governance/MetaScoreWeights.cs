using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary><c>meta_score.weights</c>: how much accept rate, stability and contrast add to the reward.</summary>
public sealed record MetaScoreWeights
{
    public static MetaScoreWeights Default { get; } = new();

    /// <summary><c>accept</c>, default 0.35.</summary>
    public double Accept { get; init; } = 0.35;

    /// <summary><c>stability</c>, default 0.25.</summary>
    public double Stability { get; init; } = 0.25;

    /// <summary><c>contrast</c>, default 0.1.</summary>
    public double Contrast { get; init; } = 0.1;

    internal static MetaScoreWeights FromJson(JsonObject? json, string path)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, path, "accept", "stability", "contrast");
        var d = Default;
        return new MetaScoreWeights
        {
            Accept = JsonRead.Setting(json, "accept", d.Accept, path),
            Stability = JsonRead.Setting(json, "stability", d.Stability, path),
            Contrast = JsonRead.Setting(json, "contrast", d.Contrast, path),
        };
    }

    /// <summary>Weights are finite; they may be negative (a term that should lower the reward).</summary>
    internal void Validate(string path)
    {
        ConfigCheck.Finite(Accept, $"{path}.accept");
        ConfigCheck.Finite(Stability, $"{path}.stability");
        ConfigCheck.Finite(Contrast, $"{path}.contrast");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["accept"] = Accept,
        ["stability"] = Stability,
        ["contrast"] = Contrast,
    };
}
