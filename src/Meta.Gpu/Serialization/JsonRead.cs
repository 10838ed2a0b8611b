using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Meta.Gpu.Serialization;

/// <summary>
/// Reading loosely-typed wire payloads (telemetry, metrics, configs) field by field, the way DESIGN §5 and §14
/// describe them: a missing or null field takes its default, booleans may arrive as 0.0/1.0, non-finite numbers
/// as "nan"/"inf"/"-inf". A field of the wrong type is an <see cref="InvalidInputException"/> naming the field.
/// </summary>
public static class JsonRead
{
    /// <summary>True when <paramref name="obj"/> has <paramref name="key"/> with a non-null value.</summary>
    public static bool Has(JsonObject? obj, string key) => obj is not null && obj[key] is not null;

    public static double Double(JsonObject? obj, string key, double fallback, string path = "")
    {
        var node = obj?[key];
        return node is null ? fallback : ToDouble(node, Join(path, key));
    }

    public static double? OptionalDouble(JsonObject? obj, string key, string path = "")
    {
        var node = obj?[key];
        return node is null ? null : ToDouble(node, Join(path, key));
    }

    public static bool Bool(JsonObject? obj, string key, bool fallback, string path = "")
    {
        var node = obj?[key];
        return node is null ? fallback : ToBool(node, Join(path, key));
    }

    public static bool? OptionalBool(JsonObject? obj, string key, string path = "")
    {
        var node = obj?[key];
        return node is null ? null : ToBool(node, Join(path, key));
    }

    public static int Int(JsonObject? obj, string key, int fallback, string path = "")
    {
        var node = obj?[key];
        return node is null ? fallback : Integer(ToDouble(node, Join(path, key)), node, Join(path, key));
    }

    public static string String(JsonObject? obj, string key, string fallback, string path = "")
    {
        var node = obj?[key];
        if (node is null) return fallback;
        if (node is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        throw new InvalidInputException($"{Join(path, key)}: expected a string, got {Show(node)}");
    }

    /// <summary>
    /// A configuration setting: a JSON number, or "nan"/"inf"/"-inf" (which the setting's own check then refuses
    /// by name). A boolean or any other string is refused naming the field: the leniency that suits wire payloads
    /// (<see cref="ToDouble"/>) would read <c>"outlier_z": true</c> as z = 1 and <c>"trim_alpha": "0.2"</c> as 0.2.
    /// </summary>
    public static double Setting(JsonObject? obj, string key, double fallback, string path = "")
    {
        var node = obj?[key];
        return node is null ? fallback : ToNumber(node, Join(path, key));
    }

    /// <summary>As <see cref="Setting"/>; null when the key is missing or null.</summary>
    public static double? OptionalSetting(JsonObject? obj, string key, string path = "")
    {
        var node = obj?[key];
        return node is null ? null : ToNumber(node, Join(path, key));
    }

    /// <summary>An integer configuration setting (see <see cref="Setting"/>).</summary>
    public static int SettingInt(JsonObject? obj, string key, int fallback, string path = "")
    {
        var node = obj?[key];
        return node is null ? fallback : Integer(ToNumber(node, Join(path, key)), node, Join(path, key));
    }

    /// <summary><paramref name="value"/>, read from <paramref name="node"/>, as an int.</summary>
    private static int Integer(double value, JsonNode node, string path)
    {
        if (!double.IsFinite(value) || value != Math.Floor(value))
            throw new InvalidInputException($"{path}: expected an integer, got {Show(node)}");
        // Told apart from a fraction: "expected an integer, got 3000000000" named the one thing that was right.
        if (value < int.MinValue || value > int.MaxValue)
            throw new InvalidInputException(FormattableString.Invariant($"{path}: {Show(node)} is out of the integer range [{int.MinValue}, {int.MaxValue}]"));
        return (int)value;
    }

    /// <summary>A JSON array of settings (see <see cref="Setting"/>).</summary>
    public static double[] SettingArray(JsonNode? node, string path) => Numbers(node, path, ToNumber);

    /// <summary>A JSON array of numbers strictly (see <see cref="ToNumber"/>): a parameter vector, where a boolean or
    /// a numeric string is a mistake, not a flag.</summary>
    public static double[] NumberArray(JsonNode? node, string path) => Numbers(node, path, ToNumber);

    /// <summary>A number strictly (see <see cref="ToNumber"/>); null when the key is missing or null.</summary>
    public static double? OptionalNumber(JsonObject? obj, string key, string path = "") => OptionalSetting(obj, key, path);

    /// <summary>A JSON number, or "nan"/"inf"/"-inf" (DESIGN §14's non-finite numbers); a boolean or any other string
    /// is refused naming the field (<see cref="ToDouble"/>, for wire flags, reads true as 1).</summary>
    public static double ToNumber(JsonNode node, string path)
    {
        if (node is JsonValue value)
        {
            switch (value.GetValueKind())
            {
                case JsonValueKind.Number:
                    return NumberOf(value);
                case JsonValueKind.String when WireJson.ParseNonFinite(value.GetValue<string>()) is double special:
                    return special;
            }
        }
        throw new InvalidInputException($"{path}: expected a number, got {Show(node)}");
    }

    public static double ToDouble(JsonNode node, string path)
    {
        if (node is JsonValue value)
        {
            switch (value.GetValueKind())
            {
                case JsonValueKind.Number:
                    return NumberOf(value);
                case JsonValueKind.True:
                    return 1.0;
                case JsonValueKind.False:
                    return 0.0;
                case JsonValueKind.String:
                    var text = value.GetValue<string>();
                    var special = WireJson.ParseNonFinite(text);
                    if (special is double d) return d;
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)) return parsed;
                    break;
            }
        }
        throw new InvalidInputException($"{path}: expected a number, got {Show(node)}");
    }

    public static bool ToBool(JsonNode node, string path)
    {
        if (node is JsonValue value)
        {
            switch (value.GetValueKind())
            {
                case JsonValueKind.True:
                    return true;
                case JsonValueKind.False:
                    return false;
                // 0.0/1.0 only (DESIGN §8: "DRG flags arrive as booleans or 0.0/1.0"): 0.5 is no flag.
                case JsonValueKind.Number when NumberOf(value) is 0.0 or 1.0:
                    return NumberOf(value) == 1.0;
            }
        }
        throw new InvalidInputException($"{path}: expected a boolean (or 0/1), got {Show(node)}");
    }

    /// <summary>A number node's value, whether it was parsed from text or built in memory from an int, a long,
    /// a float or a decimal (GetValue of double converts only numbers that were parsed from text).</summary>
    public static double NumberOf(JsonValue value)
    {
        if (value.TryGetValue<double>(out var d)) return d;
        if (value.TryGetValue<int>(out var i)) return i;
        if (value.TryGetValue<long>(out var l)) return l;
        if (value.TryGetValue<float>(out var f)) return f;
        if (value.TryGetValue<decimal>(out var m)) return (double)m;
        return double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Reads a JSON array of numbers (non-finite as strings) into doubles.</summary>
    public static double[] DoubleArray(JsonNode? node, string path) => Numbers(node, path, ToDouble);

    /// <summary>A JSON array, each item read by <paramref name="read"/>.</summary>
    private static double[] Numbers(JsonNode? node, string path, Func<JsonNode, string, double> read)
    {
        if (node is not JsonArray array) throw new InvalidInputException($"{path}: expected an array of numbers, got {Show(node)}");
        var result = new double[array.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var item = array[i] ?? throw new InvalidInputException($"{path}[{i}]: expected a number, got null");
            result[i] = read(item, $"{path}[{i}]");
        }
        return result;
    }

    /// <summary>Reads a JSON array of strings.</summary>
    public static string[] StringArray(JsonNode? node, string path)
    {
        if (node is not JsonArray array) throw new InvalidInputException($"{path}: expected an array of strings, got {Show(node)}");
        var result = new string[array.Count];
        for (var i = 0; i < result.Length; i++)
        {
            if (array[i] is JsonValue v && v.TryGetValue<string>(out var s)) result[i] = s;
            else throw new InvalidInputException($"{path}[{i}]: expected a string, got {Show(array[i])}");
        }
        return result;
    }

    /// <summary>The object at <paramref name="key"/>, or null when absent/null; an error when it is not an object.</summary>
    public static JsonObject? Object(JsonObject? obj, string key, string path = "")
    {
        var node = obj?[key];
        return node switch
        {
            null => null,
            JsonObject o => o,
            _ => throw new InvalidInputException($"{Join(path, key)}: expected an object, got {Show(node)}"),
        };
    }

    /// <summary>Rejects keys that a strict section (a configuration) does not know, naming the first one.</summary>
    public static void RequireKnownKeys(JsonObject obj, string path, params string[] known)
    {
        foreach (var (key, _) in obj)
        {
            if (Array.IndexOf(known, key) < 0)
            {
                var where = path.Length == 0 ? "configuration" : path;
                throw new InvalidInputException($"{Join(path, key)}: unknown key in {where} (known: {string.Join(", ", known)})");
            }
        }
    }

    /// <summary>Throws an <see cref="InvalidInputException"/> "<paramref name="path"/>: nan is not a finite
    /// <paramref name="what"/>" when <paramref name="value"/> is NaN or infinite (null passes): the wire format
    /// carries such values, and a running average that takes one in keeps it for good.</summary>
    public static void RequireFinite(double? value, string path, string what = "reading")
    {
        if (value is { } v && !double.IsFinite(v))
            throw new InvalidInputException($"{path}: {WireJson.NonFiniteName(v)} is not a finite {what}");
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    /// <summary>The node as compact JSON for an error message. A number built in memory may be NaN or infinite, which
    /// JSON text cannot hold: such a value shows as its wire name (nan, inf, -inf), inside an array or object as the
    /// string the serializer's named literals write; the plain writer threw an ArgumentException while the message
    /// was being built, and the field's error was lost.</summary>
    public static string Show(JsonNode? node)
    {
        if (node is null) return "null";
        try
        {
            // First: a parsed number too large for a double (1e400) shows as written.
            return node.ToJsonString();
        }
        catch (ArgumentException) when (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number)
        {
            return WireJson.NonFiniteName(NumberOf(value));
        }
        catch (ArgumentException)
        {
            return node.ToJsonString(ShowNamedLiterals);
        }
    }

    private static readonly JsonSerializerOptions ShowNamedLiterals = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
}
