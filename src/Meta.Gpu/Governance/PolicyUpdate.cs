using System.Text.Json.Nodes;

namespace Meta.Gpu.Governance;

/// <summary>
/// A <c>meta_policy_update</c> (DESIGN §5 steps 6 and 8): its revision, the knobs it announces (a bit mask over
/// <see cref="Knob"/>) with their values, and the reason tags. The JSON form is built only when asked.
/// </summary>
public readonly struct PolicyUpdate
{
    private readonly KnobVector _values;

    public PolicyUpdate(long rev, int changedMask, in KnobVector values, PolicyReasons reasons)
    {
        Rev = rev;
        ChangedMask = changedMask;
        _values = values;
        Reasons = reasons;
    }

    /// <summary><c>rev</c>: the decision count after this call.</summary>
    public long Rev { get; }

    /// <summary>The knobs announced, as bits (<see cref="Knobs.Bit"/>).</summary>
    public int ChangedMask { get; }

    public PolicyReasons Reasons { get; }

    /// <summary>The <c>reason</c> text: tags joined by " + ", or "steady".</summary>
    public string Reason => PolicyReasonText.Of(Reasons);

    public bool Announces(Knob knob) => (ChangedMask & knob.Bit()) != 0;

    /// <summary>The announced value of <paramref name="knob"/> (meaningful when <see cref="Announces"/>).</summary>
    public double ValueOf(Knob knob) => _values[knob];

    /// <summary>{rev, controller {tau, gamma_diversity}, evaluator {g_min, lambda_ci}, operators {tier3_topk,
    /// tier2: "on"|"off"}, reason}; each section only with the knobs announced, and only when non-empty.</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson()
    {
        var json = new JsonObject { ["rev"] = Rev };
        var controller = Section(Knob.Tau, Knob.GammaDiversity);
        if (controller is not null) json["controller"] = controller;
        var evaluator = Section(Knob.GMin, Knob.LambdaCi);
        if (evaluator is not null) json["evaluator"] = evaluator;
        if (Announces(Knob.Tier3TopK) || Announces(Knob.Tier2Enabled))
        {
            var operators = new JsonObject();
            if (Announces(Knob.Tier3TopK)) operators["tier3_topk"] = _values.Tier3TopK;
            if (Announces(Knob.Tier2Enabled)) operators["tier2"] = _values.Tier2Enabled ? "on" : "off";
            json["operators"] = operators;
        }
        json["reason"] = Reason;
        return json;
    }

    private JsonObject? Section(Knob first, Knob second)
    {
        if (!Announces(first) && !Announces(second)) return null;
        var section = new JsonObject();
        if (Announces(first)) section[first.WireName()] = _values.ValueToJson(first);
        if (Announces(second)) section[second.WireName()] = _values.ValueToJson(second);
        return section;
    }
}
