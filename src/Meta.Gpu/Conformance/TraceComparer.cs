using System.Text.Json;
using System.Text.Json.Nodes;

namespace Meta.Gpu.Conformance;

/// <summary>One difference between a trace's expected output and the actual one.</summary>
public sealed record TraceMismatch(string Path, string Expected, string Actual)
{
    public override string ToString() => $"{Path}: expected {Expected}, got {Actual}";
}

/// <summary>
/// The comparison of DESIGN §14: every field present in <c>expected</c> must match (extra actual fields are fine),
/// except that <c>meta_policy_update</c> (with its sections), <c>resource_profile_hint</c>, <c>profile</c> /
/// <c>resource_profile</c> and <c>published</c> must have exactly the expected keys, and published topics must
/// carry the same number of payloads. Floats match within 1e-5 absolute + 1e-5 relative; a cooldown that is
/// absent counts as 0; non-finite numbers may be written as "nan", "inf", "-inf".
/// </summary>
public static class TraceComparer
{
    public const double AbsoluteTolerance = 1e-5;
    public const double RelativeTolerance = 1e-5;

    private static readonly HashSet<string> ExactKeyObjects = new(StringComparer.Ordinal)
    {
        "meta_policy_update", "resource_profile_hint", "profile", "resource_profile", "published",
    };

    public static IReadOnlyList<TraceMismatch> Compare(JsonNode? expected, JsonNode? actual)
    {
        var mismatches = new List<TraceMismatch>();
        CompareNode(expected, actual, "", exact: false, mismatches);
        return mismatches;
    }

    private static void CompareNode(JsonNode? expected, JsonNode? actual, string path, bool exact, List<TraceMismatch> output)
    {
        switch (expected)
        {
            case null:
                if (actual is not null) output.Add(new(Label(path), "null", Show(actual)));
                return;
            case JsonObject expectedObject:
                if (actual is not JsonObject actualObject)
                {
                    output.Add(new(Label(path), "an object", Show(actual)));
                    return;
                }
                CompareObject(expectedObject, actualObject, path, exact, output);
                return;
            case JsonArray expectedArray:
                if (actual is not JsonArray actualArray)
                {
                    output.Add(new(Label(path), $"an array of {expectedArray.Count}", Show(actual)));
                    return;
                }
                if (expectedArray.Count != actualArray.Count)
                {
                    output.Add(new(Label(path), $"{expectedArray.Count} items {Show(expectedArray, 300)}", $"{actualArray.Count} items {Show(actualArray, 300)}"));
                    return;
                }
                for (var i = 0; i < expectedArray.Count; i++)
                    CompareNode(expectedArray[i], actualArray[i], $"{path}[{i}]", exact, output);
                return;
            case JsonValue expectedValue:
                CompareValue(expectedValue, actual, path, output);
                return;
        }
    }

    private static void CompareObject(JsonObject expected, JsonObject actual, string path, bool exact, List<TraceMismatch> output)
    {
        var name = LastSegment(path);
        var exactHere = exact || ExactKeyObjects.Contains(name);
        var isCooldowns = name == "cooldowns";

        foreach (var (key, expectedChild) in expected)
        {
            var childPath = path.Length == 0 ? key : $"{path}.{key}";
            if (!actual.TryGetPropertyValue(key, out var actualChild))
            {
                if (isCooldowns && IsZero(expectedChild)) continue;
                output.Add(new(childPath, Show(expectedChild), "(missing)"));
                continue;
            }
            // Payloads inside `published` compare as usual; the exact rule applies to published itself and to
            // the objects that carry one of the exact names.
            var childExact = exactHere && name != "published";
            CompareNode(expectedChild, actualChild, childPath, childExact, output);
        }

        if (exactHere || isCooldowns)
        {
            foreach (var (key, actualChild) in actual)
            {
                if (expected.ContainsKey(key)) continue;
                if (isCooldowns && IsZero(actualChild)) continue;
                output.Add(new(path.Length == 0 ? key : $"{path}.{key}", "(absent)", Show(actualChild)));
            }
        }
    }

    private static void CompareValue(JsonValue expected, JsonNode? actual, string path, List<TraceMismatch> output)
    {
        var expectedNumber = AsNumber(expected);
        if (expectedNumber is double e)
        {
            var a = actual is JsonValue av ? AsNumber(av) : null;
            // An integer in the trace (a count, a round, a size) is no float: it matches exactly.
            var integer = expected.GetValueKind() == JsonValueKind.Number && expected.ToJsonString().AsSpan().IndexOfAny('.', 'e', 'E') < 0;
            if (a is not double actualNumber || (integer ? actualNumber != e : !Close(e, actualNumber)))
                output.Add(new(Label(path), Show(expected), Show(actual)));
            return;
        }

        switch (expected.GetValueKind())
        {
            case JsonValueKind.True:
            case JsonValueKind.False:
                if (actual is not JsonValue b || b.GetValueKind() != expected.GetValueKind())
                    output.Add(new(Label(path), Show(expected), Show(actual)));
                return;
            case JsonValueKind.String:
                if (actual is not JsonValue s || s.GetValueKind() != JsonValueKind.String || s.GetValue<string>() != expected.GetValue<string>())
                    output.Add(new(Label(path), Show(expected), Show(actual)));
                return;
            default:
                if (!JsonNode.DeepEquals(expected, actual))
                    output.Add(new(Label(path), Show(expected), Show(actual)));
                return;
        }
    }

    /// <summary>A number, or one of the non-finite strings; null for anything else.</summary>
    private static double? AsNumber(JsonValue value) => value.GetValueKind() switch
    {
        JsonValueKind.Number => Serialization.JsonRead.NumberOf(value),
        JsonValueKind.String => Serialization.WireJson.ParseNonFinite(value.GetValue<string>()),
        _ => null,
    };

    public static bool Close(double expected, double actual)
    {
        if (double.IsNaN(expected)) return double.IsNaN(actual);
        if (double.IsInfinity(expected)) return expected == actual;
        if (!double.IsFinite(actual)) return false;
        return Math.Abs(actual - expected) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(expected);
    }

    private static bool IsZero(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && Serialization.JsonRead.NumberOf(v) == 0.0;

    private static string LastSegment(string path)
    {
        var end = path.Length;
        while (end > 0 && path[end - 1] == ']')
        {
            var open = path.LastIndexOf('[', end - 1);
            if (open < 0) break;
            end = open;
        }
        var trimmed = path[..end];
        var dot = trimmed.LastIndexOf('.');
        return dot < 0 ? trimmed : trimmed[(dot + 1)..];
    }

    private static string Label(string path) => path.Length == 0 ? "(root)" : path;

    private static string Show(JsonNode? node, int max = 200)
    {
        var text = node is null ? "null" : node.ToJsonString();
        return text.Length <= max ? text : text[..max] + "…";
    }
}
