using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// One call of the layer as history remembers it (DESIGN §5 step 9): when, the reward and its EMA, the policy
/// update, the knobs at the start and at the end of the call, the resource hint, and whether it rolled back.
/// </summary>
public readonly struct MetaHistoryEntry
{
    private readonly KnobVector _knobsBefore;
    private readonly KnobVector _knobsAfter;

    public MetaHistoryEntry(double timestamp, double reward, double rewardAvg, PolicyUpdate policyUpdate,
        in KnobVector knobsBefore, in KnobVector knobsAfter, ResourceHint resourceHint, bool rollback)
    {
        Timestamp = timestamp;
        Reward = reward;
        RewardAvg = rewardAvg;
        PolicyUpdate = policyUpdate;
        _knobsBefore = knobsBefore;
        _knobsAfter = knobsAfter;
        ResourceHint = resourceHint;
        Rollback = rollback;
    }

    /// <summary>Unix time in seconds (from the layer's <see cref="TimeProvider"/>).</summary>
    public double Timestamp { get; }

    public double Reward { get; }

    public double RewardAvg { get; }

    public PolicyUpdate PolicyUpdate { get; }

    public KnobVector KnobsBefore => _knobsBefore;

    public KnobVector KnobsAfter => _knobsAfter;

    public ResourceHint ResourceHint { get; }

    public bool Rollback { get; }

    /// <summary>{timestamp, reward, reward_avg, policy_update, knobs_before, knobs_after, resource_hint, rollback}:
    /// one line of the policy log and one item of <c>meta_event_log</c>.</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["timestamp"] = WireJson.Number(Timestamp),
        ["reward"] = WireJson.Number(Reward),
        ["reward_avg"] = WireJson.Number(RewardAvg),
        ["policy_update"] = PolicyUpdate.BuildJson(),
        ["knobs_before"] = _knobsBefore.BuildJson(),
        ["knobs_after"] = _knobsAfter.BuildJson(),
        ["resource_hint"] = ResourceHint.BuildJson(),
        ["rollback"] = Rollback,
    };
}
