using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Storage;

/// <summary>A record read where it lies inside a larger buffer (an inline dense message's frame, a reused fetch
/// buffer), <see cref="DensePriorFile.FromBytes(ReadOnlyMemory{byte})"/>: the slice alone is the record, read as the
/// whole-array form reads it, with every check of that form.</summary>
public sealed class DensePriorFileSliceTests
{
    private static readonly float[] Values =
    [
        BitConverter.Int32BitsToSingle(0x7FC00001), BitConverter.Int32BitsToSingle(0x7F800001), BitConverter.Int32BitsToSingle(unchecked((int)0xFFC12345)),
        -0.0f, 0.0f, float.Epsilon, BitConverter.Int32BitsToSingle(0x007FFFFF), BitConverter.Int32BitsToSingle(unchecked((int)0x80000001)), -7f,
    ];

    /// <summary>The record at <paramref name="offset"/> of a buffer with other bytes before and after it.</summary>
    private static (byte[] Buffer, int Offset, int Length) Embedded(byte[] record, int offset, int after)
    {
        var buffer = new byte[offset + record.Length + after];
        Array.Fill(buffer, (byte)0xA5);
        record.CopyTo(buffer, offset);
        return (buffer, offset, record.Length);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(5, 0)]
    [InlineData(0, 7)]
    [InlineData(13, 3)]
    public void A_record_inside_a_larger_buffer_reads_bit_for_bit_as_the_record_alone(int before, int after)
    {
        var record = DensePriorFile.ToBytes(Values, 9); // odd D
        var (buffer, offset, length) = Embedded(record, before, after);

        var prior = DensePriorFile.FromBytes(new ReadOnlyMemory<byte>(buffer, offset, length));

        Assert.Equal(Values.Select(BitConverter.SingleToInt32Bits), prior.Values.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(9, prior.Round);
        Assert.Equal(DensePriorFile.FromBytes(record).Checksum, prior.Checksum);
    }

    [Fact]
    public void A_corrupted_byte_inside_the_slice_is_rejected_as_in_the_whole_array_form()
    {
        var record = DensePriorFile.ToBytes(Values, 9);
        record[DensePriorFile.HeaderSize + 4 * 4 + 2] ^= 0x01;
        var (buffer, offset, length) = Embedded(record, 11, 5);

        var slice = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(new ReadOnlyMemory<byte>(buffer, offset, length)));
        var whole = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(record));
        Assert.Contains("checksum mismatch", slice.Message);
        Assert.Equal(whole.Message, slice.Message);
    }

    [Fact]
    public void A_slice_cut_short_or_with_bytes_after_the_checksum_is_rejected()
    {
        var record = DensePriorFile.ToBytes(Values, 9);
        var (buffer, offset, length) = Embedded(record, 3, 4);

        var shorter = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(new ReadOnlyMemory<byte>(buffer, offset, length - 1)));
        Assert.Contains("truncated", shorter.Message);
        var longer = Assert.Throws<InvalidInputException>(() => DensePriorFile.FromBytes(new ReadOnlyMemory<byte>(buffer, offset, length + 2)));
        Assert.Contains("2 unexpected bytes after the checksum", longer.Message);
    }
}
