using System.Text.Json.Nodes;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>Shapes replayer outputs for <see cref="TraceComparer"/>.</summary>
internal static class TraceOutput
{
    /// <summary>
    /// The node re-read from its JSON text, so every number is a JSON number whatever CLR type built it (the
    /// comparer reads numbers as doubles, which a node built from an int or a float does not allow).
    /// </summary>
    public static JsonNode Normalise(JsonNode node) => JsonNode.Parse(node.ToJsonString())!;

    /// <summary>A key -> value map as a JSON object, keys in ordinal order.</summary>
    public static JsonObject Map(IEnumerable<KeyValuePair<string, double>> map)
    {
        var json = new JsonObject();
        foreach (var (key, value) in map.OrderBy(p => p.Key, StringComparer.Ordinal)) json[key] = Serialization.WireJson.Number(value);
        return json;
    }
}
