using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>The closed range [Lo, Hi] a numeric knob is clamped to; JSON form <c>[lo, hi]</c>.</summary>
public readonly record struct KnobBounds(double Lo, double Hi)
{
    public double Clamp(double value) => Math.Clamp(value, Lo, Hi);

    /// <summary>The wire form (snake_case; numbers readable as any numeric type).</summary>
    public JsonArray ToJson() => WirePayload.Of(BuildJson());

    internal JsonArray BuildJson() => [WireJson.Number(Lo), WireJson.Number(Hi)];

    internal static KnobBounds Read(JsonObject? obj, string key, KnobBounds fallback, string path)
    {
        var node = obj?[key];
        if (node is null) return fallback;
        var field = JsonRead.Join(path, key);
        var values = JsonRead.SettingArray(node, field);
        if (values.Length != 2) throw new InvalidInputException($"{field}: expected [lo, hi], got {values.Length} numbers");
        return new KnobBounds(values[0], values[1]);
    }
}
