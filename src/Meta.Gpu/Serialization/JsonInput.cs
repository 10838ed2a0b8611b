using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace Meta.Gpu.Serialization;

/// <summary>
/// Parses JSON that comes from outside (files, stdin, a broker) strictly, so that what the parser lets through
/// reads without surprises later. Refused at parse time, as a syntax error is (<see cref="JsonException"/>):
/// <list type="bullet">
/// <item>a property given twice in one object: JsonNode otherwise accepts it and throws an ArgumentException ("an
/// item with the same key") only when the object is first read. The parser's refusal says which name but not
/// where; the exception thrown here carries the line and byte in line of the second one, as a syntax error's
/// does;</item>
/// <item>a string or property name that is no valid text: an escaped lone surrogate (<c>"\ud800"</c>) or bytes
/// that are not UTF-8. The parser checks strings only when they are read, and then throws an
/// InvalidOperationException, which surfaced as a crash (a command) or a dead topic feed (the bus) instead of an
/// error naming the input.</item>
/// </list>
/// </summary>
public static class JsonInput
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static JsonNode? Parse(string json) => Parse(Encoding.UTF8.GetBytes(json));

    public static JsonNode? Parse(ReadOnlySpan<byte> utf8Json)
    {
        CheckStringsWhereNeeded(utf8Json);
        try
        {
            return JsonNode.Parse(utf8Json, documentOptions: Strict);
        }
        catch (JsonException e) when (e.LineNumber is null)
        {
            if (AtRepeatedProperty(e, utf8Json) is { } located) throw located;
            throw;
        }
    }

    /// <summary>As <see cref="Parse(ReadOnlySpan{byte})"/>, refusing the same input with the same exceptions, into a
    /// <see cref="JsonDocument"/>: a few bytes per token beside <paramref name="utf8Json"/>, which it reads in place
    /// (and which must outlive it), where a JsonNode tree takes about twenty times the text. For inputs of many
    /// large vectors (`meta-gpu aggregate`).</summary>
    public static JsonDocument ParseDocument(ReadOnlyMemory<byte> utf8Json)
    {
        CheckStringsWhereNeeded(utf8Json.Span);
        try
        {
            return JsonDocument.Parse(utf8Json, Strict);
        }
        catch (JsonException e) when (e.LineNumber is null)
        {
            if (AtRepeatedProperty(e, utf8Json.Span) is { } located) throw located;
            throw;
        }
    }

    /// <summary>The parser's refusal of a property given twice, placed at the second one (the parser says neither
    /// line nor column for it); null where no property is given twice.</summary>
    private static JsonException? AtRepeatedProperty(JsonException e, ReadOnlySpan<byte> utf8Json)
    {
        if (RepeatedPropertyStart(utf8Json) is not long start) return null;
        var before = utf8Json[..(int)start];
        // Counted as the reader counts a syntax error's place: lines end at '\n', positions are bytes from 0.
        var line = before.Count((byte)'\n');
        var position = start - (before.LastIndexOf((byte)'\n') + 1);
        return new JsonException(Reason(e), e.Path, line, position, e);
    }

    /// <summary>Where the first property name that its object already holds starts (its opening quote), or null.
    /// Names compare as the parser compares them: unescaped, case and all.</summary>
    private static long? RepeatedPropertyStart(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        var open = new Stack<HashSet<string>>();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    open.Push(new HashSet<string>(StringComparer.Ordinal));
                    break;
                case JsonTokenType.EndObject:
                    open.Pop();
                    break;
                case JsonTokenType.PropertyName when !open.Peek().Add(reader.GetString()!):
                    return reader.TokenStartIndex;
            }
        }
        return null;
    }

    private static void CheckStringsWhereNeeded(ReadOnlySpan<byte> utf8Json)
    {
        // First: the parser reads property names itself (to find duplicates) and would throw on one that is no text.
        // Only text that is not UTF-8 throughout or holds a \u escape can hold such a string; the scan of every
        // string costs a second read of the document (a third more per bus message), so the rest skips it.
        if (!Utf8.IsValid(utf8Json) || utf8Json.IndexOf("\\u"u8) >= 0) CheckStrings(utf8Json);
    }

    /// <summary>"malformed JSON at line L, column C (why)" for a syntax error in a whole document, counted from 1 as
    /// editors count. The parser's own message ends in "LineNumber: 1 | BytePositionInLine: 0.", counted from 0: an
    /// error on a file's second line read as one on its first.</summary>
    public static string Describe(JsonException e)
    {
        var where = e.LineNumber is long line
            ? $" at line {line + 1}{(e.BytePositionInLine is long position ? $", column {position + 1}" : "")}"
            : "";
        return $"malformed JSON{where} ({Reason(e)})";
    }

    /// <summary>The parser's message without its position suffix (<see cref="Describe"/> says where, from 1).</summary>
    public static string Reason(JsonException e)
    {
        var message = e.Message;
        foreach (var marker in new[] { " Path:", " LineNumber:" })
        {
            var at = message.IndexOf(marker, StringComparison.Ordinal);
            if (at > 0) message = message[..at];
        }
        return message.Trim();
    }

    /// <summary>Reads every string and property name once; a syntax error is the reader's JsonException, the one
    /// the parser would give.</summary>
    private static void CheckStrings(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName)) continue;
            if (!reader.ValueIsEscaped)
            {
                if (!Utf8.IsValid(reader.ValueSpan)) throw NotText(reader, "its bytes are not UTF-8");
                continue;
            }
            try
            {
                reader.GetString();
            }
            catch (InvalidOperationException e)
            {
                throw NotText(reader, e.Message);
            }
        }
    }

    private static JsonException NotText(in Utf8JsonReader reader, string why) =>
        new($"the {(reader.TokenType == JsonTokenType.PropertyName ? "property name" : "string")} at byte {reader.TokenStartIndex} is not valid text: {why}",
            path: null, lineNumber: null, bytePositionInLine: reader.TokenStartIndex);
}
