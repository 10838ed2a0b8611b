using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Meta.Gpu.Governance;

/// <summary>
/// The values of the six knobs, inline (no allocation), indexed by <see cref="Knob"/>. Every knob is held as a
/// double: <c>tier2_enabled</c> as 1/0 and <c>tier3_topk</c> as a whole number, so that "new != old" and the
/// rollback restore are one comparison and one copy for every knob.
/// </summary>
[InlineArray(Knobs.Count)]
public struct KnobVector : IEquatable<KnobVector>
{
    private double _value;

    /// <summary>The initial knob values of DESIGN §5: tau 0.9, gamma_diversity 0.3, g_min 0.01, lambda_ci 0.5,
    /// tier2_enabled true, tier3_topk 5.</summary>
    public static KnobVector Initial
    {
        get
        {
            var v = default(KnobVector);
            v[Knob.Tau] = 0.9;
            v[Knob.GammaDiversity] = 0.3;
            v[Knob.GMin] = 0.01;
            v[Knob.LambdaCi] = 0.5;
            v[Knob.Tier2Enabled] = 1.0;
            v[Knob.Tier3TopK] = 5.0;
            return v;
        }
    }

    public double this[Knob knob]
    {
        readonly get => this[(int)knob];
        set => this[(int)knob] = value;
    }

    public readonly double Tau => this[Knob.Tau];

    public readonly double GammaDiversity => this[Knob.GammaDiversity];

    public readonly double GMin => this[Knob.GMin];

    public readonly double LambdaCi => this[Knob.LambdaCi];

    public readonly bool Tier2Enabled => this[Knob.Tier2Enabled] != 0.0;

    public readonly int Tier3TopK => (int)this[Knob.Tier3TopK];

    /// <summary>The bit mask of the knobs whose values differ (exact comparison) from <paramref name="other"/>.</summary>
    public readonly int DifferenceMask(in KnobVector other)
    {
        var mask = 0;
        for (var i = 0; i < Knobs.Count; i++)
            if (this[i] != other[i]) mask |= 1 << i;
        return mask;
    }

    public readonly bool Equals(KnobVector other) => DifferenceMask(other) == 0;

    public override readonly bool Equals(object? obj) => obj is KnobVector other && Equals(other);

    public override readonly int GetHashCode() => HashCode.Combine(this[0], this[1], this[2], this[3], this[4], this[5]);

    public static bool operator ==(KnobVector left, KnobVector right) => left.Equals(right);

    public static bool operator !=(KnobVector left, KnobVector right) => !left.Equals(right);

    /// <summary>The JSON value of one knob: a number, a boolean for tier2_enabled, an integer for tier3_topk.</summary>
    public readonly JsonNode ValueToJson(Knob knob) => knob switch
    {
        Knob.Tier2Enabled => JsonValue.Create(Tier2Enabled),
        Knob.Tier3TopK => JsonValue.Create(Tier3TopK),
        _ => Serialization.WireJson.Number(this[knob]),
    };

    /// <summary>All six knobs as {tau, gamma_diversity, g_min, lambda_ci, tier2_enabled, tier3_topk}.</summary>
    public readonly JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal readonly JsonObject BuildJson()
    {
        var json = new JsonObject();
        foreach (var knob in Knobs.All)
            json[knob.WireName()] = ValueToJson(knob);
        return json;
    }
}
