using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Unicode;
using System.Text.Json;
using Meta.Gpu.Serialization;

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
/// re-serialisation), so checking it needs no canonical form. A truncated file fails to parse (one cut only by its
/// final newline is refused for the want of it); a flipped byte in
/// the content fails the checksum; a flipped byte elsewhere breaks the JSON or the envelope fields, or leaves an
/// optional section apart from its checksum field (checked). The price: a
/// hand-edited content no longer matches its checksum and is treated as corrupt (recompute the sha256 field over
/// the edited content's exact bytes, in lowercase hex, and keep the envelope's layout and final newline, to keep an
/// edit).
/// </remarks>
internal static class ChecksummedJson
{
    public const int Version = 1;

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, NewLine = "\n" };

    /// <summary>The whole file: the envelope around what <paramref name="writeContent"/> writes.</summary>
    public static byte[] Encode(string format, string contentName, Action<Utf8JsonWriter> writeContent) =>
        Encode(format, contentName, writeContent, null, null);

    /// <summary>The whole file, with an optional second section <paramref name="extraName"/> after the content,
    /// carrying its own checksum in <c>&lt;extraName&gt;_sha256</c> (a reader that does not know it ignores both
    /// fields, so the file stays readable by older loads).</summary>
    public static byte[] Encode(string format, string contentName, Action<Utf8JsonWriter> writeContent,
        string? extraName, Action<Utf8JsonWriter>? writeExtra)
    {
        var content = Serialize(writeContent);
        var extra = extraName is not null && writeExtra is not null ? Serialize(writeExtra) : null;

        var file = new ArrayBufferWriter<byte>(content.WrittenCount + 256);
        using (var writer = new Utf8JsonWriter(file, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("format", format);
            writer.WriteNumber("version", Version);
            writer.WriteString("sha256", Convert.ToHexStringLower(SHA256.HashData(content.WrittenSpan)));
            writer.WritePropertyName(contentName);
            writer.WriteRawValue(content.WrittenSpan, skipInputValidation: true);
            if (extra is not null)
            {
                writer.WriteString(extraName + "_sha256", Convert.ToHexStringLower(SHA256.HashData(extra.WrittenSpan)));
                writer.WritePropertyName(extraName!);
                writer.WriteRawValue(extra.WrittenSpan, skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        file.Write("\n"u8);
        return file.WrittenSpan.ToArray();
    }

    private static ArrayBufferWriter<byte> Serialize(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            write(writer);
        return buffer;
    }

    /// <summary>Checks the optional section <paramref name="extraName"/> of <paramref name="root"/> against its
    /// own checksum and reads it; default when the file has none (written before the section existed).
    /// <paramref name="root"/> is the root <see cref="Decode{T}(ReadOnlyMemory{byte}, string, string, string, Func{JsonElement, JsonElement, T})"/>
    /// passed on, whose strings were all checked when it was parsed.</summary>
    /// <exception cref="InvalidInputException">Naming <paramref name="label"/> and what is wrong.</exception>
    public static T? DecodeExtra<T>(JsonElement root, string extraName, string label, Func<JsonElement, T> readExtra)
    {
        if (!root.TryGetProperty(extraName, out var extra)) return default;
        if (!root.TryGetProperty(extraName + "_sha256", out var s) || s.ValueKind != JsonValueKind.String)
            throw new InvalidInputException($"{label}: {extraName}_sha256: missing");
        var computed = Convert.ToHexStringLower(SHA256.HashData(JsonMarshal.GetRawUtf8Value(extra)));
        var stored = s.GetString()!;
        // Exact, as Decode's: see there.
        if (!string.Equals(stored, computed, StringComparison.Ordinal))
            throw new InvalidInputException($"{label}: {extraName} checksum mismatch (stored {stored}, computed {computed}): the section is corrupt");
        return readExtra(extra);
    }

    /// <summary>Checks the envelope and the checksum, then hands the content to <paramref name="readContent"/>.</summary>
    /// <exception cref="InvalidInputException">Naming <paramref name="label"/> and what is wrong.</exception>
    public static T Decode<T>(ReadOnlyMemory<byte> bytes, string format, string contentName, string label, Func<JsonElement, T> readContent) =>
        Decode(bytes, format, contentName, label, (content, _) => readContent(content));

    /// <summary>As the other overload; <paramref name="readContent"/> also gets the file's root (for
    /// <see cref="DecodeExtra"/>).</summary>
    public static T Decode<T>(ReadOnlyMemory<byte> bytes, string format, string contentName, string label, Func<JsonElement, JsonElement, T> readContent)
    {
        // JsonInput refuses such a file too (every string is read before the document is returned, so none throws
        // later); this check names the fault in the words a corrupt file's warning uses.
        if (!Utf8.IsValid(bytes.Span)) throw new InvalidInputException($"{label}: not valid UTF-8 (corrupt)");
        JsonDocument document;
        try
        {
            // Strict: a property given twice, or a string that is no text (an escaped lone surrogate), is refused
            // here, where the plain parser let the reader take the last copy or throw when the string was read.
            document = JsonInput.ParseDocument(bytes);
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
            var stored = s.GetString()!;
            // Exact: the writer spells it in lowercase. Compared without case, a bit flipped in one of its hex letters
            // left a file that loaded as whole while its bytes (which the learners' state names by SHA-256) had
            // changed: the state was passed over and the learners started fresh, where the backup was intact.
            if (!string.Equals(stored, computed, StringComparison.Ordinal))
                throw new InvalidInputException($"{label}: checksum mismatch (stored {stored}, computed {computed}): the content is corrupt");
            CheckSectionsPaired(root, contentName, label);
            // Last (what else is wrong says more): every file ends in the newline Encode writes after the envelope,
            // outside every checksum. A file cut by that byte passed every check above while its bytes (which the
            // learners' state names by SHA-256) had changed: the state was passed over and the learners started
            // fresh, where the backup was whole.
            if (bytes.Span[^1] != (byte)'\n') throw new InvalidInputException($"{label}: truncated (no final newline)");
            // Whitespace around the sections is outside every checksum too: a newline appended after the final one,
            // a space before the opening brace or a tab for an indent passed every check above while the file's bytes
            // (which the learners' state names by SHA-256) had changed, as the cut newline did.
            if (!AsWritten(bytes.Span, root)) throw new InvalidInputException($"{label}: not as written (whitespace outside the checksummed sections changed: corrupt)");
            return readContent(content, root);
        }
    }

    /// <summary>Whether <paramref name="bytes"/> are exactly what <see cref="Encode(string, string, Action{Utf8JsonWriter}, string?, Action{Utf8JsonWriter}?)"/>
    /// writes around <paramref name="root"/>'s values as they stand in the file.</summary>
    private static bool AsWritten(ReadOnlySpan<byte> bytes, JsonElement root)
    {
        var file = new ArrayBufferWriter<byte>(bytes.Length);
        using (var writer = new Utf8JsonWriter(file, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                writer.WritePropertyName(property.Name);
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(property.Value), skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        file.Write("\n"u8);
        return file.WrittenSpan.SequenceEqual(bytes);
    }

    /// <summary>
    /// Every optional section must come with its checksum and every checksum with its section. The sections'
    /// names are outside every checksum: without this, a flipped byte in a section's name (<c>last_sequences</c>)
    /// would read as a file written without that section, its content silently dropped.
    /// </summary>
    private static void CheckSectionsPaired(JsonElement root, string contentName, string label)
    {
        foreach (var property in root.EnumerateObject())
        {
            string name;
            try
            {
                name = property.Name;
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidInputException($"{label}: a field name is not valid text (corrupt)", e);
            }
            if (name is "format" or "version" or "sha256" || name == contentName) continue;
            if (name.EndsWith("_sha256", StringComparison.Ordinal))
            {
                if (!root.TryGetProperty(name[..^"_sha256".Length], out _))
                    throw new InvalidInputException($"{label}: {name} without its section {name[..^"_sha256".Length]} (corrupt)");
            }
            else if (!root.TryGetProperty(name + "_sha256", out _))
            {
                throw new InvalidInputException($"{label}: {name}: a section without its checksum {name}_sha256 (corrupt)");
            }
        }
    }
}
