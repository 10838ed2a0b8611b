using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Meta.Gpu.Storage;

/// <summary>
/// The binary form of a dense prior on disk and of a dense update on the wire (DESIGN §10, §11).
/// </summary>
/// <remarks>
/// <para>Layout, all integers little-endian:</para>
/// <code>
/// offset  size   field
///      0     4   magic, the ASCII bytes "MGPU"
///      4     2   format version (uint16) = 1
///      6     2   element type (uint16) = 1: float32
///      8     8   D, the number of values (int64, 0 &lt;= D &lt;= Array.MaxLength)
///     16     8   round (int64, &gt;= 0): dense steps taken for a prior; the domain's sequence for an update
///     24     4   S, the number of sequence entries (int32, &gt;= 0; 0 on the wire)
///     28     4   reserved, zero
///     32   4*D   the D values, IEEE-754 float32 little-endian
///      …         S entries, domain ids in ordinal order, each: id length L (int32, 1..65536 bytes),
///                the id in UTF-8 (L bytes), the last applied sequence of that domain (int64)
///      …    32   SHA-256 of every byte above (header, values and sequence entries)
/// </code>
/// <para>The values start at offset 32 so that they stay 4-byte aligned when the file is mapped. Putting the
/// sequence table after the values and before the checksum keeps the §11 order (header, values, checksum) and
/// makes the checksum cover the sequences, so a prior and its sequences are saved and verified as one unit.</para>
/// <para>Reading checks, in order: the magic, the version, the element type, the header fields, that every byte
/// is there (truncation), and the checksum. Any failure is an <see cref="InvalidInputException"/> saying which.</para>
/// </remarks>
public static class DensePriorFile
{
    public const int FormatVersion = 1;

    /// <summary>The element-type code of float32, the only one this version writes and reads.</summary>
    public const int ElementFloat32 = 1;

    public const int HeaderSize = 32;

    public const int ChecksumSize = 32;

    /// <summary>Longest domain id in the sequence table, in UTF-8 bytes.</summary>
    public const int MaxDomainIdBytes = 65_536;

    private static ReadOnlySpan<byte> Magic => "MGPU"u8;

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Writes one record and returns its SHA-256 in lowercase hex (the checksum stored at its end).</summary>
    public static string Write(Stream stream, ReadOnlySpan<float> values, long round, IReadOnlyDictionary<string, long>? lastSequences = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (round < 0) throw new InvalidInputException(FormattableString.Invariant($"dense prior: round must be >= 0, got {round}"));
        var sequences = SortedSequences(lastSequences);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        Span<byte> header = stackalloc byte[HeaderSize];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], ElementFloat32);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], values.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], round);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], sequences.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], 0);
        Emit(stream, hash, header);

        if (BitConverter.IsLittleEndian)
        {
            // In slices: a span of bytes stops short of 2 GiB, and AsBytes of 2^29 floats or more overflowed.
            for (var rest = values; !rest.IsEmpty; rest = rest[Math.Min(rest.Length, 1 << 20)..])
                Emit(stream, hash, MemoryMarshal.AsBytes(rest[..Math.Min(rest.Length, 1 << 20)]));
        }
        else
        {
            Span<byte> chunk = stackalloc byte[4096];
            for (var i = 0; i < values.Length; i += chunk.Length / 4)
            {
                var n = Math.Min(chunk.Length / 4, values.Length - i);
                for (var j = 0; j < n; j++) BinaryPrimitives.WriteSingleLittleEndian(chunk[(4 * j)..], values[i + j]);
                Emit(stream, hash, chunk[..(4 * n)]);
            }
        }

        Span<byte> number = stackalloc byte[8];
        foreach (var (_, idBytes, sequence) in sequences)
        {
            BinaryPrimitives.WriteInt32LittleEndian(number, idBytes.Length);
            Emit(stream, hash, number[..4]);
            Emit(stream, hash, idBytes);
            BinaryPrimitives.WriteInt64LittleEndian(number, sequence);
            Emit(stream, hash, number);
        }

        Span<byte> checksum = stackalloc byte[ChecksumSize];
        hash.GetHashAndReset(checksum);
        stream.Write(checksum);
        return Convert.ToHexStringLower(checksum);
    }

    /// <summary>One record as bytes (for a bus payload or a message body).</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> values, long round, IReadOnlyDictionary<string, long>? lastSequences = null)
    {
        // In long: 4 * D wrapped negative at D = 2^29, and the stream's capacity error named no size.
        var size = HeaderSize + 4L * values.Length + ChecksumSize + 64;
        if (size > Array.MaxLength)
            throw new InvalidInputException($"dense prior: {values.Length} values do not fit one message or byte array ({size} bytes; at most {Array.MaxLength})");
        using var buffer = new MemoryStream((int)size);
        Write(buffer, values, round, lastSequences);
        return buffer.ToArray();
    }

    /// <summary>Reads a record that must fill <paramref name="data"/> exactly (trailing bytes are an error).</summary>
    public static DensePrior FromBytes(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromBytes(data.AsMemory());
    }

    /// <summary>Reads a record that must fill <paramref name="data"/> exactly, read where it lies (a record framed in
    /// a larger message is not copied out first).</summary>
    public static DensePrior FromBytes(ReadOnlyMemory<byte> data)
    {
        if (!MemoryMarshal.TryGetArray(data, out var segment)) segment = data.ToArray();
        using var stream = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
        var prior = Read(stream);
        if (stream.Position != stream.Length)
            throw new InvalidInputException($"dense prior: {stream.Length - stream.Position} unexpected bytes after the checksum");
        return prior;
    }

    /// <summary>Reads one record from the current position, leaving the stream just after its checksum.</summary>
    public static DensePrior Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        Span<byte> header = stackalloc byte[HeaderSize];
        var got = stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false);
        if (got == 0) throw Truncated("the input is empty");
        var prefix = Math.Min(got, Magic.Length);
        if (!header[..prefix].SequenceEqual(Magic[..prefix]))
            throw new InvalidInputException($"dense prior: bad magic: expected 'MGPU', found '{Printable(header[..prefix])}'");
        if (got < HeaderSize) throw Truncated($"the header has {got} of {HeaderSize} bytes");
        hash.AppendData(header);

        var version = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
        if (version != FormatVersion)
            throw new InvalidInputException($"dense prior: unsupported format version {version} (this build reads version {FormatVersion})");
        var elementType = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        if (elementType != ElementFloat32)
            throw new InvalidInputException($"dense prior: unsupported element type {elementType} (only {ElementFloat32} = float32)");
        var d = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (d < 0 || d > Array.MaxLength) throw new InvalidInputException(FormattableString.Invariant($"dense prior: corrupt header: D = {d} is out of range"));
        var round = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        if (round < 0) throw new InvalidInputException(FormattableString.Invariant($"dense prior: corrupt header: round = {round} is negative"));
        var count = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        if (count < 0) throw new InvalidInputException(FormattableString.Invariant($"dense prior: corrupt header: {count} sequence entries"));
        if (BinaryPrimitives.ReadInt32LittleEndian(header[28..]) != 0) throw new InvalidInputException("dense prior: corrupt header: reserved bytes are not zero");

        // The least the rest can take; checked up front when the length is known, so a corrupt D cannot make
        // us allocate gigabytes before noticing the truncation.
        var rest = 4 * d + count * 13L + ChecksumSize;
        if (stream.CanSeek && stream.Length - stream.Position < rest)
            throw Truncated($"D = {d} and {count} sequence entries need at least {rest} more bytes, found {stream.Length - stream.Position}");

        var values = ReadValues(stream, hash, (int)d);

        var sequences = new SortedDictionary<string, long>(StringComparer.Ordinal);
        Span<byte> number = stackalloc byte[8];
        for (var i = 0; i < count; i++)
        {
            ReadExactly(stream, hash, number[..4], $"sequence entry {i}");
            var length = BinaryPrimitives.ReadInt32LittleEndian(number);
            if (length < 1 || length > MaxDomainIdBytes)
                throw new InvalidInputException(FormattableString.Invariant($"dense prior: corrupt sequence entry {i}: domain id length {length}"));
            var idBytes = new byte[length];
            ReadExactly(stream, hash, idBytes, $"sequence entry {i}");
            ReadExactly(stream, hash, number, $"sequence entry {i}");
            string id;
            try
            {
                id = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(idBytes);
            }
            catch (DecoderFallbackException)
            {
                throw new InvalidInputException($"dense prior: corrupt sequence entry {i}: the domain id is not UTF-8");
            }
            if (!sequences.TryAdd(id, BinaryPrimitives.ReadInt64LittleEndian(number)))
                throw new InvalidInputException($"dense prior: corrupt sequence table: domain '{id}' appears twice");
        }

        Span<byte> stored = stackalloc byte[ChecksumSize];
        got = stream.ReadAtLeast(stored, ChecksumSize, throwOnEndOfStream: false);
        if (got < ChecksumSize) throw Truncated($"the checksum has {got} of {ChecksumSize} bytes");
        Span<byte> computed = stackalloc byte[ChecksumSize];
        hash.GetHashAndReset(computed);
        if (!stored.SequenceEqual(computed))
            throw new InvalidInputException(
                $"dense prior: checksum mismatch (stored {Convert.ToHexStringLower(stored)}, computed {Convert.ToHexStringLower(computed)}): the data is corrupt");

        return new DensePrior(values, round, sequences, Convert.ToHexStringLower(computed));
    }

    private static float[] ReadValues(Stream stream, IncrementalHash hash, int d)
    {
        // Without a known length, grow as the bytes arrive instead of trusting D for the allocation.
        var values = new float[stream.CanSeek ? d : Math.Min(d, 1 << 20)];
        var filled = 0;
        while (filled < d)
        {
            if (filled == values.Length) Array.Resize(ref values, (int)Math.Min(d, 2L * values.Length));
            var target = MemoryMarshal.AsBytes(values.AsSpan(filled, Math.Min(values.Length - filled, 1 << 20)));
            var got = stream.ReadAtLeast(target, target.Length, throwOnEndOfStream: false);
            hash.AppendData(target[..got]);
            if (got < target.Length) throw Truncated($"the values stop after {4L * filled + got} of {4L * d} bytes");
            filled += target.Length / 4;
        }
        if (!BitConverter.IsLittleEndian)
        {
            var bits = MemoryMarshal.Cast<float, int>(values.AsSpan());
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }
        return values;
    }

    private static void ReadExactly(Stream stream, IncrementalHash hash, Span<byte> target, string what)
    {
        var got = stream.ReadAtLeast(target, target.Length, throwOnEndOfStream: false);
        if (got < target.Length) throw Truncated($"{what} is cut short");
        hash.AppendData(target);
    }

    private static void Emit(Stream stream, IncrementalHash hash, ReadOnlySpan<byte> bytes)
    {
        hash.AppendData(bytes);
        stream.Write(bytes);
    }

    private static List<(string Id, byte[] IdBytes, long Sequence)> SortedSequences(IReadOnlyDictionary<string, long>? lastSequences)
    {
        var result = new List<(string, byte[], long)>();
        if (lastSequences is null) return result;
        foreach (var (id, sequence) in lastSequences.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (string.IsNullOrEmpty(id)) throw new InvalidInputException("dense prior: last_sequences: a domain id is empty");
            byte[] bytes;
            try
            {
                // Strict: Encoding.UTF8 wrote a lone surrogate as U+FFFD, so the id read back was another one, and
                // two ids that differ only there became a duplicate that made the file unreadable.
                bytes = StrictUtf8.GetBytes(id);
            }
            catch (EncoderFallbackException)
            {
                throw new InvalidInputException($"dense prior: last_sequences: domain id '{id}' is not well-formed Unicode (a lone surrogate)");
            }
            if (bytes.Length > MaxDomainIdBytes)
                throw new InvalidInputException($"dense prior: last_sequences: domain id '{id[..32]}...' is longer than {MaxDomainIdBytes} UTF-8 bytes");
            result.Add((id, bytes, sequence));
        }
        return result;
    }

    private static InvalidInputException Truncated(string detail) => new($"dense prior: truncated: {detail}");

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder();
        foreach (var b in bytes) text.Append(b is >= 0x20 and < 0x7f ? (char)b : '?');
        return text.ToString();
    }
}
