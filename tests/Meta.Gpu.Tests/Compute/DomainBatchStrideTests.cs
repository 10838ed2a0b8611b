using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The row stride <see cref="DomainBatch"/> chooses: whole 64-byte lines, and successive rows of a
/// power-of-two D skewed apart in the caches, not one set apart.</summary>
public sealed class DomainBatchStrideTests
{
    [Theory]
    [InlineData(1, 16)]
    [InlineData(7, 16)]
    [InlineData(1000, 1008)]
    [InlineData(65537, 65552)]
    [InlineData(1_000_000, 1_000_000)]
    public void AStrideIsDRoundedUpToWholeLines_WhereRowsAreNot4KiBApart(int columns, int stride)
    {
        Assert.Equal(stride, DomainBatch.ChooseStride(columns));
        Assert.Equal(stride, new DomainBatch(1, columns).Stride);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(2_147_483_633)]
    [InlineData(0)]
    public void A_width_whose_padded_row_cannot_be_an_array_is_refused_not_wrapped(int columns)
    {
        // The rounding to whole lines overflowed an int past 2^31 - 16 and gave a negative stride.
        Assert.Throws<ArgumentOutOfRangeException>(() => DomainBatch.ChooseStride(columns));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DomainBatch(1, columns));
    }

    [Fact]
    public void The_widest_row_has_a_stride_within_an_array()
    {
        var stride = DomainBatch.ChooseStride(DomainBatch.MaxColumns);
        Assert.InRange(stride, DomainBatch.MaxColumns, Array.MaxLength);
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(4096)]
    [InlineData(1 << 20)]
    [InlineData((1 << 20) - 3)]
    public void RowsOfAPowerOfTwoD_AreSkewedBy2KiBAndALine(int columns)
    {
        var stride = DomainBatch.ChooseStride(columns);
        Assert.Equal((columns + 15) / 16 * 16 + 528, stride);
        // The same 2 KiB run (512 floats) of each of 64 successive rows overlaps no other row's in a 64 KiB cache way
        // (the L2 of the machines measured: 8 ways of 64 KiB): at most two rows' runs share a set (the ways wrap
        // twice over 64 rows of 2,112 bytes).
        var sets = new int[1024]; // 64-byte sets of one 64 KiB way
        for (var r = 0; r < 64; r++)
        for (var line = 0; line < 32; line++)
            sets[(int)((((long)r * stride * sizeof(float)) / 64 + line) % 1024)]++;
        Assert.True(sets.Max() <= 3, $"{sets.Max()} lines of the 64 rows' runs share one set");
        Assert.Equal(0, stride % 16);
    }
}
