using System.Text.Json;
using System.Text.Json.Nodes;

namespace Meta.Gpu.Serialization;

/// <summary>
/// Parses JSON that comes from outside (files, stdin, a broker): a property given twice in one object is a
/// <see cref="JsonException"/> at parse time, as a syntax error is. JsonNode otherwise accepts it and throws an
/// ArgumentException ("an item with the same key") only when the object is first read, which surfaced as a crash
/// instead of an error naming the input.
/// </summary>
public static class JsonInput
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static JsonNode? Parse(string json) => JsonNode.Parse(json, documentOptions: Strict);

    public static JsonNode? Parse(ReadOnlySpan<byte> utf8Json) => JsonNode.Parse(utf8Json, documentOptions: Strict);
}
