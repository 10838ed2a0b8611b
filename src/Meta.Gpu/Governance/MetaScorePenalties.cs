using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary><c>meta_score.penalties</c>: how much latency, device memory and an OOM take off the reward.</summary>
public sealed record MetaScorePenalties
{
    public static MetaScorePenalties Default { get; } = new();

    /// <summary><c>latency</c>, default 0.15 (applied to the clipped normalised latency).</summary>
    public double Latency { get; init; } = 0.15;

    /// <summary><c>vram</c>, default 0.1.</summary>
    public double Vram { get; init; } = 0.1;

    /// <summary><c>oom</c>, default 0.2.</summary>
    public double Oom { get; init; } = 0.2;

    internal static MetaScorePenalties FromJson(JsonObject? json, string path)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, path, "latency", "vram", "oom");
        var d = Default;
        return new MetaScorePenalties
        {
            Latency = JsonRead.Setting(json, "latency", d.Latency, path),
            Vram = JsonRead.Setting(json, "vram", d.Vram, path),
            Oom = JsonRead.Setting(json, "oom", d.Oom, path),
        };
    }

    /// <summary>Penalties are >= 0: the scoring reports them as positive amounts taken off.</summary>
    internal void Validate(string path)
    {
        ConfigCheck.NonNegative(Latency, $"{path}.latency");
        ConfigCheck.NonNegative(Vram, $"{path}.vram");
        ConfigCheck.NonNegative(Oom, $"{path}.oom");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["latency"] = Latency,
        ["vram"] = Vram,
        ["oom"] = Oom,
    };
}
