using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Learning;

/// <summary>
/// One domain's dense update (DESIGN §10, topic <c>federation.dense_update</c>): {domain_id, sequence (per domain,
/// increasing), confidence in [0, 1], metrics, vector: D float32}.
/// </summary>
/// <remarks>
/// In process the record itself may travel on the bus (the vector as a float[]). As JSON the vector is either an
/// array of numbers (rounded to float32) or a string: the base64 of the §11 binary bytes
/// (<see cref="DensePriorFile"/>, checksum verified), which is how System.Text.Json writes a byte[], or a
/// <see cref="JsonValue"/> wrapping the float[] (a bus that decoded the binary form already).
/// A sender publishing the record (or a JSON value wrapping its array) on an in-process bus hands the array over:
/// the bus delivers the same array later, and the lane reads it when it takes the update (it keeps its own copy
/// from then on), so the sender must not write it after publishing; publish a fresh array each time.
/// </remarks>
public sealed record DenseUpdate(string DomainId, long Sequence, double Confidence, DomainMetrics Metrics, float[] Vector)
{
    /// <summary>Reads a payload; a missing or malformed field is an <see cref="InvalidInputException"/> naming it.</summary>
    public static DenseUpdate FromPayload(object? payload, string topic)
    {
        if (payload is DenseUpdate update) return update;
        var json = BusPayload.AsObject(payload, topic);
        var domainId = JsonRead.String(json, "domain_id", "", topic);
        if (domainId.Length == 0) throw new InvalidInputException($"{topic}.domain_id: missing or empty");
        var sequence = SequenceNumber.Read(json, topic, domainId)
            ?? throw new InvalidInputException($"{topic}.sequence: missing (domain \"{domainId}\")");
        var confidence = JsonRead.OptionalNumber(json, "confidence", topic)
            ?? throw new InvalidInputException($"{topic}.confidence: missing (domain \"{domainId}\")");
        var metrics = DomainMetrics.FromJson(JsonRead.Object(json, "metrics", topic), $"{topic}.metrics");
        metrics.CheckFinite($"{topic}.metrics");
        var vector = json["vector"] switch
        {
            JsonArray array => Array.ConvertAll(JsonRead.NumberArray(array, $"{topic}.vector"), v => (float)v),
            // What a broker that carries the vector binary delivers (the NATS bus): the float[] itself, no copy.
            JsonValue value when value.TryGetValue<float[]>(out var floats) => floats,
            JsonValue value when value.TryGetValue<string>(out var base64) => FromBinary(base64, $"{topic}.vector"),
            var other => throw new InvalidInputException($"{topic}.vector: expected an array of numbers or the base64 of the binary form, got {JsonRead.Show(other)}"),
        };
        return new DenseUpdate(domainId, sequence, confidence, metrics, vector);
    }

    private static float[] FromBinary(string base64, string path)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64);
        }
        catch (FormatException e)
        {
            throw new InvalidInputException($"{path}: not base64 ({e.Message})", e);
        }
        try
        {
            return DensePriorFile.FromBytes(bytes).Values;
        }
        catch (Exception e) when (e is InvalidInputException or InvalidDataException or EndOfStreamException)
        {
            throw new InvalidInputException($"{path}: not a valid binary vector ({e.Message})", e);
        }
    }
}
