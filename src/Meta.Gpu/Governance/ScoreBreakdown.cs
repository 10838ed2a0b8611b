using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// The terms of one reward (DESIGN §5 step 1, <c>scoring</c>): each weighted term, penalties as positive amounts,
/// the raw sum and the clipped reward.
/// </summary>
public readonly record struct ScoreBreakdown(
    double Accept,
    double Stability,
    double Contrast,
    double LatencyPenalty,
    double VramPenalty,
    double OomPenalty,
    double Raw,
    double Reward)
{
    /// <summary>reward = wa*accept + ws*stability + wc*contrast - pl*clip(latency/norm, 0, clipmax) - pv*vram -
    /// po*oom, clipped to [reward_clip_min, reward_clip_max]. NaN inputs propagate (IEEE), so a NaN reading
    /// shows up as a NaN score rather than as a plausible number.</summary>
    public static ScoreBreakdown Compute(MetaScoreConfig config, TelemetrySnapshot telemetry)
    {
        var w = config.Weights;
        var p = config.Penalties;
        var accept = w.Accept * telemetry.AcceptRate;
        var stability = w.Stability * telemetry.StabilityAvg;
        var contrast = w.Contrast * telemetry.RclContrast;
        var latency = p.Latency * Math.Clamp(telemetry.LatencyMs / config.LatencyNormalization, 0.0, config.LatencyClipMax);
        var vram = p.Vram * telemetry.VramUtil;
        var oom = telemetry.OomFlag ? p.Oom : 0.0;
        var raw = accept + stability + contrast - latency - vram - oom;
        var reward = Math.Clamp(raw, config.RewardClipMin, config.RewardClipMax);
        return new ScoreBreakdown(accept, stability, contrast, latency, vram, oom, raw, reward);
    }

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["accept"] = WireJson.Number(Accept),
        ["stability"] = WireJson.Number(Stability),
        ["contrast"] = WireJson.Number(Contrast),
        ["latency_penalty"] = WireJson.Number(LatencyPenalty),
        ["vram_penalty"] = WireJson.Number(VramPenalty),
        ["oom_penalty"] = WireJson.Number(OomPenalty),
        ["raw"] = WireJson.Number(Raw),
        ["reward"] = WireJson.Number(Reward),
    };
}
