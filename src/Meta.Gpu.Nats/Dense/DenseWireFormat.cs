using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Meta.Gpu.Nats.Dense;

/// <summary>
/// The binary form of a dense vector on the wire (DESIGN §11): a 24-byte header — magic <c>MGPU</c>, format
/// version (uint16), element type (uint16, 1 = float32), D (int64), round (int64) — then the D values
/// little-endian, then the SHA-256 of header and values (32 bytes). For a dense update the round field carries
/// the domain's sequence number.
/// </summary>
/// <remarks>
/// Decoding verifies magic, version, element type, the length implied by D and the trailing SHA-256, so a
/// truncated or corrupted blob is always detected and never half-read.
/// </remarks>
public static class DenseWireFormat
{
    public const int HeaderBytes = 24;
    public const int ChecksumBytes = 32;
    public const ushort FormatVersion = 1;
    public const ushort ElementFloat32 = 1;
    private static ReadOnlySpan<byte> Magic => "MGPU"u8;

    public static int EncodedLength(int d) => checked(HeaderBytes + d * sizeof(float) + ChecksumBytes);

    public static byte[] Encode(ReadOnlySpan<float> values, long round)
    {
        var blob = new byte[EncodedLength(values.Length)];
        var span = blob.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(span[6..], ElementFloat32);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], values.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], round);
        var body = span.Slice(HeaderBytes, values.Length * sizeof(float));
        if (BitConverter.IsLittleEndian)
            MemoryMarshal.AsBytes(values).CopyTo(body);
        else
            for (var i = 0; i < values.Length; i++)
                BinaryPrimitives.WriteSingleLittleEndian(body[(i * sizeof(float))..], values[i]);
        SHA256.HashData(span[..(HeaderBytes + body.Length)], span[(HeaderBytes + body.Length)..]);
        return blob;
    }

    /// <summary>Decodes and verifies a blob; throws <see cref="InvalidInputException"/> naming what is wrong.</summary>
    public static (float[] Values, long Round) Decode(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < HeaderBytes + ChecksumBytes)
            throw new InvalidInputException($"dense blob: {blob.Length} bytes is shorter than header and checksum");
        if (!blob[..4].SequenceEqual(Magic))
            throw new InvalidInputException("dense blob: magic is not MGPU");
        var version = BinaryPrimitives.ReadUInt16LittleEndian(blob[4..]);
        if (version != FormatVersion)
            throw new InvalidInputException($"dense blob: format version {version} is not supported (expected {FormatVersion})");
        var element = BinaryPrimitives.ReadUInt16LittleEndian(blob[6..]);
        if (element != ElementFloat32)
            throw new InvalidInputException($"dense blob: element type {element} is not float32 ({ElementFloat32})");
        var d = BinaryPrimitives.ReadInt64LittleEndian(blob[8..]);
        var round = BinaryPrimitives.ReadInt64LittleEndian(blob[16..]);
        if (d < 0 || d > (int.MaxValue - HeaderBytes - ChecksumBytes) / sizeof(float) || EncodedLength((int)d) != blob.Length)
            throw new InvalidInputException($"dense blob: D = {d} does not match the blob length {blob.Length} (truncated or corrupted)");
        var covered = blob.Length - ChecksumBytes;
        Span<byte> hash = stackalloc byte[ChecksumBytes];
        SHA256.HashData(blob[..covered], hash);
        if (!hash.SequenceEqual(blob[covered..]))
            throw new InvalidInputException("dense blob: SHA-256 checksum mismatch (corrupted)");
        var values = new float[d];
        var body = blob.Slice(HeaderBytes, (int)d * sizeof(float));
        if (BitConverter.IsLittleEndian)
            body.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        else
            for (var i = 0; i < values.Length; i++)
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(body[(i * sizeof(float))..]);
        return (values, round);
    }
}
