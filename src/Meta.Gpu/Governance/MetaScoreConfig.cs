using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary><c>meta_score</c> (DESIGN §5 step 1): the reward's weights and penalties, its clipping and the EMA.</summary>
public sealed record MetaScoreConfig
{
    public static MetaScoreConfig Default { get; } = new();

    public MetaScoreWeights Weights { get; init; } = MetaScoreWeights.Default;

    public MetaScorePenalties Penalties { get; init; } = MetaScorePenalties.Default;

    /// <summary><c>ema_alpha</c>, default 0.3, in (0, 1]: EMA = (1 - a) * EMA + a * reward.</summary>
    public double EmaAlpha { get; init; } = 0.3;

    /// <summary><c>latency_normalization</c> (ms), default 120, > 0: latency is divided by it before clipping.</summary>
    public double LatencyNormalization { get; init; } = 120;

    /// <summary><c>latency_clip_max</c>, default 2, >= 0: the normalised latency is clipped to [0, this].</summary>
    public double LatencyClipMax { get; init; } = 2;

    /// <summary><c>reward_clip_min</c>, default -1.</summary>
    public double RewardClipMin { get; init; } = -1;

    /// <summary><c>reward_clip_max</c>, default 1, >= reward_clip_min.</summary>
    public double RewardClipMax { get; init; } = 1;

    internal static MetaScoreConfig FromJson(JsonObject? json, string path)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, path, "weights", "penalties", "ema_alpha", "latency_normalization",
            "latency_clip_max", "reward_clip_min", "reward_clip_max");
        var d = Default;
        return new MetaScoreConfig
        {
            Weights = MetaScoreWeights.FromJson(JsonRead.Object(json, "weights", path), JsonRead.Join(path, "weights")),
            Penalties = MetaScorePenalties.FromJson(JsonRead.Object(json, "penalties", path), JsonRead.Join(path, "penalties")),
            EmaAlpha = JsonRead.Setting(json, "ema_alpha", d.EmaAlpha, path),
            LatencyNormalization = JsonRead.Setting(json, "latency_normalization", d.LatencyNormalization, path),
            LatencyClipMax = JsonRead.Setting(json, "latency_clip_max", d.LatencyClipMax, path),
            RewardClipMin = JsonRead.Setting(json, "reward_clip_min", d.RewardClipMin, path),
            RewardClipMax = JsonRead.Setting(json, "reward_clip_max", d.RewardClipMax, path),
        };
    }

    internal void Validate(string path)
    {
        ConfigCheck.Present(Weights, $"{path}.weights");
        ConfigCheck.Present(Penalties, $"{path}.penalties");
        Weights.Validate($"{path}.weights");
        Penalties.Validate($"{path}.penalties");
        ConfigCheck.Finite(EmaAlpha, $"{path}.ema_alpha");
        if (EmaAlpha <= 0 || EmaAlpha > 1)
            throw new InvalidInputException($"{path}.ema_alpha: must be in (0, 1], got {ConfigCheck.Show(EmaAlpha)}");
        ConfigCheck.Positive(LatencyNormalization, $"{path}.latency_normalization");
        ConfigCheck.NonNegative(LatencyClipMax, $"{path}.latency_clip_max");
        ConfigCheck.Finite(RewardClipMin, $"{path}.reward_clip_min");
        ConfigCheck.Finite(RewardClipMax, $"{path}.reward_clip_max");
        if (RewardClipMin > RewardClipMax)
            throw new InvalidInputException($"{path}.reward_clip_min: {ConfigCheck.Show(RewardClipMin)} is above reward_clip_max {ConfigCheck.Show(RewardClipMax)}");
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["weights"] = Weights.BuildJson(),
        ["penalties"] = Penalties.BuildJson(),
        ["ema_alpha"] = EmaAlpha,
        ["latency_normalization"] = LatencyNormalization,
        ["latency_clip_max"] = LatencyClipMax,
        ["reward_clip_min"] = RewardClipMin,
        ["reward_clip_max"] = RewardClipMax,
    };
}
