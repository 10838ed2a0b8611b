using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// The layer's own telemetry after a call (DESIGN §5 step 10, <c>meta_telemetry</c>; the supervisor publishes it
/// as <c>meta_metrics</c>).
/// </summary>
public readonly record struct MetaTelemetry(
    double MetaReward,
    double MetaRewardAvg,
    long MetaDecisionCount,
    long RollbackCount,
    double Tau,
    double GammaDiversity,
    double GMin,
    double LambdaCi,
    double VramUtil,
    double LatencyMs,
    int PolicyChangesPending,
    double MetaSuccessRate)
{
    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["meta_reward"] = WireJson.Number(MetaReward),
        ["meta_reward_avg"] = WireJson.Number(MetaRewardAvg),
        ["meta_decision_count"] = MetaDecisionCount,
        ["rollback_count"] = RollbackCount,
        ["tau"] = WireJson.Number(Tau),
        ["gamma_diversity"] = WireJson.Number(GammaDiversity),
        ["g_min"] = WireJson.Number(GMin),
        ["lambda_ci"] = WireJson.Number(LambdaCi),
        ["vram_util"] = WireJson.Number(VramUtil),
        ["latency_ms"] = WireJson.Number(LatencyMs),
        ["policy_changes_pending"] = PolicyChangesPending,
        ["meta_success_rate"] = WireJson.Number(MetaSuccessRate),
    };
}
