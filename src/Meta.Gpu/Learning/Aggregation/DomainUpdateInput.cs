using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning.Aggregation;

/// <summary>
/// One domain's update as the cross-domain aggregator takes it (DESIGN §4 input): the domain id, its parameter
/// names and float32 values (same length, no repeated name) and its raw confidence.
/// </summary>
/// <remarks>Keys need not be sorted; the aggregator orders the union itself. The arrays are read, never kept or
/// changed.</remarks>
public sealed record DomainUpdateInput(string DomainId, IReadOnlyList<string> Keys, float[] Vector, double Confidence)
{
    /// <summary>
    /// Throws <see cref="InvalidInputException"/> naming the domain when the update is malformed (DESIGN §4): keys
    /// and vector of different lengths, a repeated key, or a missing id, key list or vector. Eligibility (empty,
    /// non-finite, low confidence) is not malformation: such updates are counted and left out, not refused.
    /// </summary>
    public void EnsureWellFormed()
    {
        if (DomainId is null) throw new InvalidInputException("update: domain_id is missing");
        var who = $"domain \"{DomainId}\"";
        if (Keys is null) throw new InvalidInputException($"{who}: keys are missing");
        if (Vector is null) throw new InvalidInputException($"{who}: vector is missing");
        if (Keys.Count != Vector.Length)
            throw new InvalidInputException($"{who}: {Keys.Count} keys but {Vector.Length} values");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Keys.Count; i++)
        {
            var key = Keys[i] ?? throw new InvalidInputException($"{who}: key {i} is null");
            if (!seen.Add(key)) throw new InvalidInputException($"{who}: key \"{key}\" is repeated");
        }
    }

    /// <summary>
    /// Reads {domain_id, keys, vector, confidence} (values may be "nan"/"inf"/"-inf"; numbers are rounded to
    /// float32, the input type of §4). Every field is required; other fields (a learner update's reward,
    /// timestamp, ...) are ignored. Errors name the domain (or the position when the id itself is missing). The result is checked with <see cref="EnsureWellFormed"/>.
    /// </summary>
    public static DomainUpdateInput FromJson(JsonNode? node, string path)
    {
        if (node is not JsonObject obj) throw new InvalidInputException($"{path}: expected an update object, got {JsonRead.Show(node)}");
        if (!JsonRead.Has(obj, "domain_id")) throw new InvalidInputException($"{path}.domain_id: missing");
        var id = JsonRead.String(obj, "domain_id", "", path);
        var who = $"domain \"{id}\"";
        if (!JsonRead.Has(obj, "keys")) throw new InvalidInputException($"{who}: keys are missing");
        if (!JsonRead.Has(obj, "vector")) throw new InvalidInputException($"{who}: vector is missing");
        if (!JsonRead.Has(obj, "confidence")) throw new InvalidInputException($"{who}: confidence is missing");
        var keys = JsonRead.StringArray(obj["keys"], $"{who}: keys");
        var values = JsonRead.NumberArray(obj["vector"], $"{who}: vector");
        var confidence = JsonRead.ToNumber(obj["confidence"]!, $"{who}: confidence");
        var update = new DomainUpdateInput(id, keys, values.Select(v => (float)v).ToArray(), confidence);
        update.EnsureWellFormed();
        return update;
    }

    /// <summary>Reads a JSON array of updates (see <see cref="FromJson(JsonNode?, string)"/>).</summary>
    public static IReadOnlyList<DomainUpdateInput> ListFromJson(JsonNode? node, string path)
    {
        if (node is not JsonArray array) throw new InvalidInputException($"{path}: expected an array of updates, got {JsonRead.Show(node)}");
        var result = new DomainUpdateInput[array.Count];
        for (var i = 0; i < result.Length; i++) result[i] = FromJson(array[i], $"{path}[{i}]");
        return result;
    }

    /// <summary>As <see cref="ListFromJson(JsonNode?, string)"/> on a <see cref="JsonDocument"/>'s element (a missing
    /// value is null): the same updates, the same errors in the same order. Parameter names equal across
    /// updates are kept once.</summary>
    public static IReadOnlyList<DomainUpdateInput> ListFromJson(JsonElement? node, string path)
    {
        if (node is not { ValueKind: JsonValueKind.Array } array)
            throw new InvalidInputException($"{path}: expected an array of updates, got {JsonElementRead.Show(node)}");
        var result = new DomainUpdateInput[array.GetArrayLength()];
        var names = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            result[i] = FromJson(item, $"{path}[{i}]", names);
            i++;
        }
        return result;
    }

    /// <summary>As <see cref="FromJson(JsonNode?, string)"/> on a <see cref="JsonDocument"/>'s element; keys are
    /// taken from <paramref name="names"/> where an equal one is there.</summary>
    private static DomainUpdateInput FromJson(JsonElement node, string path, HashSet<string> names)
    {
        if (node.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{path}: expected an update object, got {JsonElementRead.Show(node)}");
        if (!JsonElementRead.Has(node, "domain_id")) throw new InvalidInputException($"{path}.domain_id: missing");
        var id = JsonElementRead.String(node, "domain_id", "", path);
        var who = $"domain \"{id}\"";
        if (!JsonElementRead.Has(node, "keys")) throw new InvalidInputException($"{who}: keys are missing");
        if (!JsonElementRead.Has(node, "vector")) throw new InvalidInputException($"{who}: vector is missing");
        if (!JsonElementRead.Has(node, "confidence")) throw new InvalidInputException($"{who}: confidence is missing");
        var keys = JsonElementRead.StringArray(JsonElementRead.Property(node, "keys"), $"{who}: keys", names);
        var vector = JsonElementRead.FloatArray(JsonElementRead.Property(node, "vector"), $"{who}: vector");
        var confidence = JsonElementRead.ToNumber(JsonElementRead.Property(node, "confidence")!.Value, $"{who}: confidence");
        var update = new DomainUpdateInput(id, keys, vector, confidence);
        update.EnsureWellFormed();
        return update;
    }
}
