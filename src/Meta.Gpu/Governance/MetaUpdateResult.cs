using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// What one <see cref="MetaIntegrativeLayer.Update"/> call decided (DESIGN §5 step 10), as a value: it stays
/// valid after later calls and costs no allocation. <see cref="ToJson"/> builds the wire form when asked.
/// The history (<c>meta_event_log</c>) is not copied into each result: read <see cref="MetaState.History"/>,
/// or pass it to <see cref="ToJson"/>.
/// </summary>
public readonly struct MetaUpdateResult
{
    private readonly KnobVector _knobs;
    private readonly CooldownVector _cooldowns;

    public MetaUpdateResult(PolicyUpdate policyUpdate, ResourceHint resourceProfileHint, ScoreBreakdown scoring,
        double metaScoreAvg, bool rollback, in KnobVector knobs, in CooldownVector cooldowns,
        long decisionCount, long rollbackCount, double vramUtil, double latencyMs, double metaSuccessRate)
    {
        PolicyUpdate = policyUpdate;
        ResourceProfileHint = resourceProfileHint;
        Scoring = scoring;
        MetaScoreAvg = metaScoreAvg;
        Rollback = rollback;
        _knobs = knobs;
        _cooldowns = cooldowns;
        DecisionCount = decisionCount;
        RollbackCount = rollbackCount;
        VramUtil = vramUtil;
        LatencyMs = latencyMs;
        MetaSuccessRate = metaSuccessRate;
    }

    /// <summary><c>meta_policy_update</c>.</summary>
    public PolicyUpdate PolicyUpdate { get; }

    /// <summary><c>resource_profile_hint</c>.</summary>
    public ResourceHint ResourceProfileHint { get; }

    /// <summary><c>scoring</c>: the reward's terms.</summary>
    public ScoreBreakdown Scoring { get; }

    /// <summary><c>meta_score</c>: this call's reward.</summary>
    public double MetaScore => Scoring.Reward;

    /// <summary><c>meta_score_avg</c>: the reward EMA after this call.</summary>
    public double MetaScoreAvg { get; }

    /// <summary><c>rollback</c>: whether the safety step restored earlier knobs.</summary>
    public bool Rollback { get; }

    /// <summary><c>knobs</c>: all six after the call.</summary>
    public KnobVector Knobs => _knobs;

    /// <summary><c>cooldowns</c> after the call.</summary>
    public CooldownVector Cooldowns => _cooldowns;

    public long DecisionCount { get; }

    public long RollbackCount { get; }

    /// <summary>The vram_util the call used (after defaults).</summary>
    public double VramUtil { get; }

    /// <summary>The latency_ms the call used (after defaults).</summary>
    public double LatencyMs { get; }

    /// <summary>Share of the history (this call's entry included) without a rollback.</summary>
    public double MetaSuccessRate { get; }

    /// <summary><c>meta_telemetry</c>.</summary>
    public MetaTelemetry Telemetry => new(
        MetaScore, MetaScoreAvg, DecisionCount, RollbackCount,
        _knobs.Tau, _knobs.GammaDiversity, _knobs.GMin, _knobs.LambdaCi,
        VramUtil, LatencyMs, _cooldowns.Pending, MetaSuccessRate);

    /// <summary>{meta_policy_update, resource_profile_hint, scoring, meta_score, meta_score_avg, rollback, knobs,
    /// cooldowns, meta_telemetry} and, when <paramref name="eventLog"/> is given, meta_event_log.</summary>
    public JsonObject ToJson(MetaHistory? eventLog = null)
    {
        var json = new JsonObject
        {
            ["meta_policy_update"] = PolicyUpdate.BuildJson(),
            ["resource_profile_hint"] = ResourceProfileHint.BuildJson(),
            ["scoring"] = Scoring.BuildJson(),
            ["meta_score"] = WireJson.Number(MetaScore),
            ["meta_score_avg"] = WireJson.Number(MetaScoreAvg),
            ["rollback"] = Rollback,
            ["knobs"] = _knobs.BuildJson(),
            ["cooldowns"] = _cooldowns.BuildJson(),
            ["meta_telemetry"] = Telemetry.BuildJson(),
        };
        if (eventLog is not null) json["meta_event_log"] = eventLog.BuildJson();
        return WirePayload.Of(json);
    }
}
