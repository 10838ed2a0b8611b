using System.Buffers.Binary;
using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Dense;

/// <summary>
/// Splits a dense-update payload into its JSON envelope (every field but <c>vector</c>) and the float32 vector,
/// and joins them back on the receiving side.
/// </summary>
/// <remarks>
/// The publisher may pass a <see cref="JsonObject"/>, a dictionary, or any record with a <c>Vector</c> property
/// (float[] or double[]; double values are narrowed to float32, the wire element type). The receiver gets a
/// <see cref="JsonObject"/> whose <c>vector</c> is a <see cref="JsonValue"/> wrapping the float[]: read it with
/// <c>TryGetValue&lt;float[]&gt;</c> (no copy) or <c>Deserialize&lt;float[]&gt;</c>; building a JSON array of
/// millions of numbers would cost more than the transfer.
/// </remarks>
public static class DensePayload
{
    public const string VectorField = "vector";

    private static readonly JsonSerializerOptions WithoutVector = CreateWithoutVector();

    public static (JsonObject Envelope, float[] Vector) Split(object? payload, string topic)
    {
        switch (payload)
        {
            case null:
                throw new InvalidInputException($"{topic}: payload is null, expected an object with a vector");
            case JsonObject json:
            {
                var envelope = new JsonObject();
                float[]? vector = null;
                foreach (var (key, value) in json)
                {
                    if (key == VectorField) vector = ToFloats(value, topic);
                    else envelope[key] = value?.DeepClone();
                }
                return (envelope, vector ?? throw Missing(topic));
            }
            case IEnumerable<KeyValuePair<string, object?>> dictionary:
            {
                var envelope = new JsonObject();
                float[]? vector = null;
                foreach (var (key, value) in dictionary)
                {
                    if (key == VectorField) vector = ToFloats(value, topic);
                    else envelope[key] = BusPayload.AsNode(value);
                }
                return (envelope, vector ?? throw Missing(topic));
            }
            default:
            {
                var info = WithoutVector.GetTypeInfo(payload.GetType());
                var property = info.Kind == JsonTypeInfoKind.Object
                    ? info.Properties.FirstOrDefault(p => p.Name == VectorField)
                    : null;
                if (property?.Get is null) throw Missing(topic);
                var vector = ToFloats(property.Get(payload), topic);
                var envelope = JsonSerializer.SerializeToNode(payload, payload.GetType(), WithoutVector) as JsonObject
                    ?? throw new InvalidInputException($"{topic}: expected an object payload");
                return (envelope, vector);
            }
        }
    }

    /// <summary>The payload a subscriber receives: the envelope with <c>vector</c> wrapping the float[].</summary>
    public static JsonObject Join(JsonObject envelope, float[] vector)
    {
        envelope[VectorField] = JsonValue.Create(vector);
        return envelope;
    }

    /// <summary>Inline frame: int32 little-endian length of the envelope JSON, the JSON, then the §11 blob.</summary>
    public static byte[] FrameInline(JsonObject envelope, byte[] blob)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(envelope, WireJson.Options);
        var frame = new byte[4 + json.Length + blob.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, json.Length);
        json.CopyTo(frame, 4);
        blob.CopyTo(frame, 4 + json.Length);
        return frame;
    }

    public static (JsonObject Envelope, ReadOnlyMemory<byte> Blob) ReadInline(ReadOnlyMemory<byte> frame)
    {
        if (frame.Length < 4) throw new InvalidInputException("dense message: shorter than its frame header");
        var length = BinaryPrimitives.ReadInt32LittleEndian(frame.Span);
        if (length < 0 || length > frame.Length - 4) throw new InvalidInputException($"dense message: envelope length {length} exceeds the message");
        var envelope = JsonInput.Parse(frame.Span.Slice(4, length)) as JsonObject
            ?? throw new InvalidInputException("dense message: envelope is not a JSON object");
        return (envelope, frame[(4 + length)..]);
    }

    private static float[] ToFloats(object? value, string topic) => value switch
    {
        null => throw Missing(topic),
        float[] floats => floats,
        double[] doubles => Array.ConvertAll(doubles, v => (float)v),
        ReadOnlyMemory<float> memory => memory.ToArray(),
        JsonValue json when json.TryGetValue<float[]>(out var floats) => floats,
        JsonValue json when json.TryGetValue<double[]>(out var doubles) => Array.ConvertAll(doubles, v => (float)v),
        JsonNode node => node.Deserialize<float[]>(WireJson.Options) ?? throw Missing(topic),
        JsonElement element => element.Deserialize<float[]>(WireJson.Options) ?? throw Missing(topic),
        IEnumerable<float> floats => floats.ToArray(),
        IEnumerable<double> doubles => doubles.Select(v => (float)v).ToArray(),
        IEnumerable => throw new InvalidInputException($"{topic}: vector must be numbers"),
        _ => throw new InvalidInputException($"{topic}: vector must be an array of numbers, got {value.GetType().Name}"),
    };

    private static InvalidInputException Missing(string topic) => new($"{topic}: vector is missing (a dense update carries D float32 values)");

    private static JsonSerializerOptions CreateWithoutVector()
    {
        var options = new JsonSerializerOptions(WireJson.Options)
        {
            TypeInfoResolver = new DefaultJsonTypeInfoResolver
            {
                Modifiers =
                {
                    static info =>
                    {
                        if (info.Kind != JsonTypeInfoKind.Object) return;
                        foreach (var property in info.Properties)
                            if (property.Name == VectorField)
                                property.ShouldSerialize = static (_, _) => false;
                    },
                },
            },
        };
        options.MakeReadOnly();
        return options;
    }
}
