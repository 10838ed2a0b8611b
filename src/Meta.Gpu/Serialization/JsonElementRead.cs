using System.Globalization;
using System.Text.Json;

namespace Meta.Gpu.Serialization;

/// <summary>
/// The strict readings of <see cref="JsonRead"/> (<see cref="JsonRead.ToNumber"/>, <see cref="JsonRead.StringArray"/>,
/// <see cref="JsonRead.RequireKnownKeys"/>, ...) on a <see cref="JsonElement"/> of a <see cref="JsonDocument"/>, for
/// inputs too large for a JsonNode tree (<see cref="JsonInput.ParseDocument"/>). Each takes what its JsonNode
/// counterpart takes, gives the same value, and refuses the rest with the same message: a command reading either
/// way answers a user alike.
/// </summary>
public static class JsonElementRead
{
    /// <summary>True when <paramref name="obj"/> has <paramref name="key"/> with a non-null value
    /// (<see cref="JsonRead.Has"/>).</summary>
    public static bool Has(JsonElement obj, string key) => Property(obj, key) is not null;

    /// <summary>The value at <paramref name="key"/> of an object, or null when it is missing or null (a JsonObject's
    /// indexer).</summary>
    public static JsonElement? Property(JsonElement obj, string key) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <summary><see cref="JsonRead.String"/>: the string at <paramref name="key"/>, <paramref name="fallback"/> when it
    /// is missing or null.</summary>
    public static string String(JsonElement obj, string key, string fallback, string path = "")
    {
        if (Property(obj, key) is not { } value) return fallback;
        if (value.ValueKind == JsonValueKind.String) return value.GetString()!;
        throw new InvalidInputException($"{JsonRead.Join(path, key)}: expected a string, got {Show(value)}");
    }

    /// <summary><see cref="JsonRead.ToNumber"/>: a JSON number, or "nan"/"inf"/"-inf".</summary>
    public static double ToNumber(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                return NumberOf(value);
            case JsonValueKind.String when WireJson.ParseNonFinite(value.GetString()!) is double special:
                return special;
        }
        throw new InvalidInputException($"{path}: expected a number, got {Show(value)}");
    }

    /// <summary>A number's value as <see cref="JsonRead.NumberOf"/> reads a parsed one: the same conversions tried in
    /// the same order (a JsonValue of a parsed number asks its element), so that a number no double conversion
    /// takes reads alike.</summary>
    public static double NumberOf(JsonElement value)
    {
        if (value.TryGetDouble(out var d)) return d;
        if (value.TryGetInt32(out var i)) return i;
        if (value.TryGetInt64(out var l)) return l;
        if (value.TryGetSingle(out var f)) return f;
        if (value.TryGetDecimal(out var m)) return (double)m;
        return double.Parse(Show(value), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary><see cref="JsonRead.NumberArray"/> rounded to float32 item by item (the same value as rounding the
    /// doubles afterwards, without the array of doubles).</summary>
    public static float[] FloatArray(JsonElement? node, string path)
    {
        if (node is not { ValueKind: JsonValueKind.Array } array)
            throw new InvalidInputException($"{path}: expected an array of numbers, got {Show(node)}");
        var result = new float[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Null) throw new InvalidInputException($"{path}[{i}]: expected a number, got null");
            // The item's path is spelled only for a string or an error: one per number was most of the reading's garbage.
            result[i] = (float)(item.ValueKind == JsonValueKind.Number ? NumberOf(item) : ToNumber(item, $"{path}[{i}]"));
            i++;
        }
        return result;
    }

    /// <summary><see cref="JsonRead.StringArray"/>; each string is taken from <paramref name="pool"/> when an equal
    /// one is there (and added otherwise), so that the parameter names many domains share are kept once.</summary>
    public static string[] StringArray(JsonElement? node, string path, HashSet<string>? pool = null)
    {
        if (node is not { ValueKind: JsonValueKind.Array } array)
            throw new InvalidInputException($"{path}: expected an array of strings, got {Show(node)}");
        var result = new string[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw new InvalidInputException($"{path}[{i}]: expected a string, got {Show(item)}");
            var text = item.GetString()!;
            if (pool is not null)
            {
                if (pool.TryGetValue(text, out var kept)) text = kept;
                else pool.Add(text);
            }
            result[i++] = text;
        }
        return result;
    }

    /// <summary><see cref="JsonRead.RequireKnownKeys"/>: refuses the first key, in the input's order, not in
    /// <paramref name="known"/>.</summary>
    public static void RequireKnownKeys(JsonElement obj, string path, params string[] known)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (Array.IndexOf(known, property.Name) < 0)
            {
                var where = path.Length == 0 ? "configuration" : path;
                throw new InvalidInputException($"{JsonRead.Join(path, property.Name)}: unknown key in {where} (known: {string.Join(", ", known)})");
            }
        }
    }

    /// <summary>The value as <see cref="JsonRead.Show"/> writes its JsonNode: compact, escaped as the serializer
    /// escapes by default, "null" for a missing value.</summary>
    public static string Show(JsonElement? node)
    {
        if (node is not { } value || value.ValueKind == JsonValueKind.Null) return "null";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) value.WriteTo(writer);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
