using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning.Aggregation;

/// <summary>
/// The aggregate (DESIGN §4 step 7): float32 values in the order of <paramref name="Keys"/> (ordinal-sorted),
/// and the meta. Deconstructs to (vector, keys, meta).
/// </summary>
public sealed record AggregationResult(float[] Vector, IReadOnlyList<string> Keys, AggregationMeta Meta)
{
    /// <summary>The aggregate as a key -> value map (for the prior step).</summary>
    public IReadOnlyDictionary<string, float> AsDictionary()
    {
        var map = new SortedDictionary<string, float>(StringComparer.Ordinal);
        for (var i = 0; i < Keys.Count; i++) map[Keys[i]] = Vector[i];
        return map;
    }

    /// <summary>The flat wire form: {vector, keys} plus the meta fields at the top level (the `aggregate`
    /// command's output and the aggregator traces' <c>expected</c> shape). NaN written as "nan".</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["vector"] = new JsonArray(Vector.Select(v => (JsonNode?)WireJson.Number(v)).ToArray()),
            ["keys"] = new JsonArray(Keys.Select(k => (JsonNode?)JsonValue.Create(k)).ToArray()),
        };
        return Meta.WriteTo(json);
    }
}
