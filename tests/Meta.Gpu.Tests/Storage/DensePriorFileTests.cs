using System.Buffers.Binary;
using System.Security.Cryptography;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

public sealed class DensePriorFileTests
{
    private static readonly float[] Values = [1.5f, -0.0f, float.NaN, float.PositiveInfinity, float.Epsilon, 3.25e-30f, -7f];

    private static readonly Dictionary<string, long> Sequences = new(StringComparer.Ordinal)
    {
        ["retail"] = 42,
        ["health"] = 7,
        ["Éire"] = 1,
    };

    [Fact]
    public void Round_trips_values_round_and_sequences_bit_for_bit()
    {
        var bytes = DensePriorFile.ToBytes(Values, 17, Sequences);
        var prior = DensePriorFile.FromBytes(bytes);

        Assert.Equal(Values.Select(BitConverter.SingleToInt32Bits), prior.Values.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(17, prior.Round);
        Assert.Equal(7, prior.D);
        Assert.Equal(["health", "retail", "Éire"], prior.LastSequences.Keys); // ordinal order
        Assert.Equal([7L, 42L, 1L], prior.LastSequences.Values);
    }

    [Fact]
    public void Has_the_documented_layout()
    {
        var bytes = DensePriorFile.ToBytes([1f, 2f], 5, new Dictionary<string, long> { ["a"] = 9 });

        Assert.Equal("MGPU"u8.ToArray(), bytes[..4]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(6)));
        Assert.Equal(2, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(5, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(24)));
        Assert.Equal(1f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(32)));
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(36)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(40)));
        Assert.Equal((byte)'a', bytes[44]);
        Assert.Equal(9, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(45)));
        Assert.Equal(32 + 8 + 13 + 32, bytes.Length);
        Assert.Equal(SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)), bytes[^32..]);
    }

    [Fact]
    public void Write_returns_the_checksum_that_reading_reports()
    {
        using var stream = new MemoryStream();
        var checksum = DensePriorFile.Write(stream, Values, 3, Sequences);
        stream.Position = 0;
        var prior = DensePriorFile.Read(stream);
        Assert.Equal(checksum, prior.Checksum);
        Assert.Equal(Convert.ToHexStringLower(stream.ToArray()[^32..]), checksum);
    }

    [Fact]
    public void A_wire_update_has_no_sequences_and_an_empty_vector_is_allowed()
    {
        var update = DensePriorFile.FromBytes(DensePriorFile.ToBytes(Values, 99));
        Assert.Empty(update.LastSequences);
        Assert.Equal(99, update.Round);
        var empty = DensePriorFile.FromBytes(DensePriorFile.ToBytes([], 0));
        Assert.Equal(0, empty.D);
    }

    [Fact]
    public void Reads_consecutive_records_from_a_non_seekable_stream()
    {
        using var buffer = new MemoryStream();
        DensePriorFile.Write(buffer, Values, 1);
        DensePriorFile.Write(buffer, [4f, 5f], 2);
        using var stream = new ForwardOnlyStream(buffer.ToArray());

        Assert.Equal(1, DensePriorFile.Read(stream).Round);
        var second = DensePriorFile.Read(stream);
        Assert.Equal(2, second.Round);
        Assert.Equal([4f, 5f], second.Values);
    }

    [Fact]
    public void Rejects_bad_magic()
    {
        var bytes = DensePriorFile.ToBytes(Values, 1);
        bytes[0] = (byte)'X';
        var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(bytes));
        Assert.Contains("bad magic", error.Message, StringComparison.Ordinal);
        Assert.Contains("'XGPU'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_an_unknown_format_version()
    {
        var bytes = DensePriorFile.ToBytes(Values, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), 2);
        var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(bytes));
        Assert.Contains("unsupported format version 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_an_unknown_element_type()
    {
        var bytes = DensePriorFile.ToBytes(Values, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), 2);
        var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(bytes));
        Assert.Contains("element type 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10)] // header: D
    [InlineData(17)] // header: round
    [InlineData(33)] // a value
    [InlineData(32 + 28 + 6)] // a domain id in the sequence table
    [InlineData(-1)] // the checksum itself
    public void Rejects_a_flipped_byte_with_a_checksum_mismatch(int offset)
    {
        var bytes = DensePriorFile.ToBytes(Values, 1, Sequences);
        var at = offset < 0 ? bytes.Length + offset : offset;
        bytes[at] ^= 0x01;
        var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(bytes));
        Assert.Matches("checksum mismatch|truncated|corrupt", error.Message);
    }

    [Fact]
    public void A_flipped_value_bit_is_reported_as_a_checksum_mismatch()
    {
        var bytes = DensePriorFile.ToBytes(Values, 1, Sequences);
        bytes[40] ^= 0x80;
        var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(bytes));
        Assert.Contains("checksum mismatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_every_truncation()
    {
        var bytes = DensePriorFile.ToBytes(Values, 1, Sequences);
        for (var length = 0; length < bytes.Length; length++)
        {
            var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(bytes[..length]));
            Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
            // The same through a stream that cannot tell its length up front.
            using var stream = new ForwardOnlyStream(bytes[..length]);
            Assert.Contains("truncated", Assert.Throws<InvalidInputException>(() => DensePriorFile.Read(stream)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_huge_D_in_a_short_input_is_a_truncation_not_an_allocation()
    {
        var bytes = DensePriorFile.ToBytes(Values, 1);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), Array.MaxLength);
        Assert.Contains("truncated", Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(bytes)).Message, StringComparison.Ordinal);
        using var stream = new ForwardOnlyStream(bytes);
        Assert.Contains("truncated", Assert.Throws<InvalidInputException>(() => DensePriorFile.Read(stream)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_trailing_bytes()
    {
        var bytes = DensePriorFile.ToBytes(Values, 1);
        var error = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes([.. bytes, 0]));
        Assert.Contains("unexpected bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_to_write_a_negative_round_or_an_empty_domain_id()
    {
        Assert.Throws<InvalidInputException>(() => DensePriorFile.ToBytes(Values, -1));
        Assert.Throws<InvalidInputException>(() => DensePriorFile.ToBytes(Values, 1, new Dictionary<string, long> { [""] = 1 }));
    }

    /// <summary>A stream that, like a socket, neither seeks nor knows its length.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data, writable: false);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        // Short reads on purpose: callers must loop.
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 5));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
