using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Meta.Gpu.Governance;

/// <summary>The cooldown of each knob (update cycles left before it may change again), inline, indexed by
/// <see cref="Knob"/>. A knob is eligible when its cooldown is 0.</summary>
[InlineArray(Knobs.Count)]
public struct CooldownVector
{
    private int _cycles;

    public int this[Knob knob]
    {
        readonly get => this[(int)knob];
        set => this[(int)knob] = value;
    }

    /// <summary>How many knobs have a cooldown above 0 (<c>policy_changes_pending</c>).</summary>
    public readonly int Pending
    {
        get
        {
            var pending = 0;
            for (var i = 0; i < Knobs.Count; i++)
                if (this[i] > 0) pending++;
            return pending;
        }
    }

    /// <summary>Knob -> cycles left, for every knob (knobs at 0 included, so the shape never changes).</summary>
    public readonly JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal readonly JsonObject BuildJson()
    {
        var json = new JsonObject();
        foreach (var knob in Knobs.All)
            json[knob.WireName()] = this[knob];
        return json;
    }
}
