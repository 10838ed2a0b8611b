using System.Text.Json;
using System.Text.Json.Nodes;

namespace Meta.Gpu.Serialization;

/// <summary>
/// Reads a bus payload whatever form it travelled in: the object that was published (in process), or a
/// <see cref="JsonNode"/> / <see cref="JsonElement"/> (after a broker). Subscribers use this so that they work
/// unchanged on every <see cref="Runtime.IEventBus"/>.
/// </summary>
public static class BusPayload
{
    /// <summary>The payload as a JSON object; an empty object for null. Never mutates the caller's payload:
    /// a published <see cref="JsonObject"/> is returned as-is and must be treated as read-only.</summary>
    public static JsonObject AsObject(object? payload, string topic)
    {
        var node = AsNode(payload);
        return node switch
        {
            null => new JsonObject(),
            JsonObject o => o,
            _ => throw new InvalidInputException($"{topic}: expected a JSON object payload, got {node.GetValueKind()}"),
        };
    }

    public static JsonNode? AsNode(object? payload) => payload switch
    {
        null => null,
        JsonNode node => node,
        // Parsed as strictly as what comes over a broker: a caller's own document may hold a property twice,
        // which a lenient parse turns into an ArgumentException at some later read.
        JsonElement element => JsonInput.Parse(element.GetRawText()),
        _ => JsonSerializer.SerializeToNode(payload, payload.GetType(), WireJson.Options),
    };

    /// <summary>The payload as <typeparamref name="T"/>: the object itself when it already is one, else deserialized.</summary>
    public static T As<T>(object? payload)
    {
        if (payload is T typed) return typed;
        var node = AsNode(payload);
        return node is null
            ? throw new InvalidInputException($"expected a {typeof(T).Name} payload, got null")
            : node.Deserialize<T>(WireJson.Options) ?? throw new InvalidInputException($"expected a {typeof(T).Name} payload");
    }
}
