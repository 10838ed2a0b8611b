using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace Meta.Gpu.Storage;

/// <summary>
/// The JSON files of DESIGN §11 in an envelope that makes truncation and corruption detectable while the file
/// stays plain, readable JSON:
/// <code>
/// { "format": "meta-gpu.global_prior", "version": 1, "sha256": "&lt;hex&gt;", "&lt;content name&gt;": { ... } }
/// </code>
/// </summary>
/// <remarks>
/// The checksum is the SHA-256 of the content value's bytes exactly as they appear in the file (not of a
/// re-serialisation), so checking it needs no canonical form. A truncated file fails to parse; a flipped byte in
/// the content fails the checksum; a flipped byte elsewhere breaks the JSON or the envelope fields. The price: a
/// hand-edited content no longer matches its checksum and is treated as corrupt (recompute the sha256 field over
/// the edited content's exact bytes to keep an edit).
/// </remarks>
internal static class ChecksummedJson
{
    public const int Version = 1;

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, NewLine = "\n" };

    /// <summary>The whole file: the envelope around what <paramref name="writeContent"/> writes.</summary>
    public static byte[] Encode(string format, string contentName, Action<Utf8JsonWriter> writeContent)
    {
        var content = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(content, WriterOptions))
            writeContent(writer);

        var file = new ArrayBufferWriter<byte>(content.WrittenCount + 256);
        using (var writer = new Utf8JsonWriter(file, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("format", format);
            writer.WriteNumber("version", Version);
            writer.WriteString("sha256", Convert.ToHexStringLower(SHA256.HashData(content.WrittenSpan)));
            writer.WritePropertyName(contentName);
            writer.WriteRawValue(content.WrittenSpan, skipInputValidation: true);
            writer.WriteEndObject();
        }
        file.Write("\n"u8);
        return file.WrittenSpan.ToArray();
    }

    /// <summary>Checks the envelope and the checksum, then hands the content to <paramref name="readContent"/>.</summary>
    /// <exception cref="InvalidInputException">Naming <paramref name="label"/> and what is wrong.</exception>
    public static T Decode<T>(ReadOnlyMemory<byte> bytes, string format, string contentName, string label, Func<JsonElement, T> readContent)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{label}: not valid JSON (truncated or corrupt): {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"{label}: expected a JSON object, got {root.ValueKind}");
            var actualFormat = root.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            if (actualFormat != format) throw new InvalidInputException($"{label}: format is '{actualFormat ?? "missing"}', expected '{format}'");
            if (!root.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var version))
                throw new InvalidInputException($"{label}: version: missing or not an integer");
            if (version != Version) throw new InvalidInputException($"{label}: unsupported version {version} (this build reads version {Version})");
            if (!root.TryGetProperty("sha256", out var s) || s.ValueKind != JsonValueKind.String)
                throw new InvalidInputException($"{label}: sha256: missing");
            if (!root.TryGetProperty(contentName, out var content)) throw new InvalidInputException($"{label}: {contentName}: missing");

            var computed = Convert.ToHexStringLower(SHA256.HashData(JsonMarshal.GetRawUtf8Value(content)));
            if (!string.Equals(s.GetString(), computed, StringComparison.OrdinalIgnoreCase))
                throw new InvalidInputException($"{label}: checksum mismatch (stored {s.GetString()}, computed {computed}): the content is corrupt");
            return readContent(content);
        }
    }
}
