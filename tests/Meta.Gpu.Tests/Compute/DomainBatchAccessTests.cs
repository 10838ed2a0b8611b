using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>A caller's reads and writes of one row or cell of a <see cref="DomainBatch"/>: a row or column outside
/// the batch is refused naming it, never served from the padding or the next row.</summary>
public sealed class DomainBatchAccessTests
{
    [Theory]
    [InlineData(false, 4)]
    [InlineData(true, 4)]
    [InlineData(false, -1)]
    [InlineData(true, 15)]
    public void A_column_outside_the_row_is_refused_not_read_from_the_padding(bool withMask, int column)
    {
        // Column 4 of a 4-wide row is padding: it read as absent with a mask and present without one.
        var batch = new DomainBatch(2, 4, withMask);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => batch.IsPresent(0, column));
        Assert.Equal("column", error.ParamName);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(-1)]
    public void A_row_outside_the_batch_is_refused_naming_it(int row)
    {
        var batch = new DomainBatch(2, 4, withMask: true);
        Assert.Equal("row", Assert.Throws<ArgumentOutOfRangeException>(() => batch.Row(row)).ParamName);
        Assert.Equal("row", Assert.Throws<ArgumentOutOfRangeException>(() => batch.MaskRow(row)).ParamName);
        Assert.Equal("row", Assert.Throws<ArgumentOutOfRangeException>(() => batch.IsPresent(row, 0)).ParamName);
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(-1, 2)]
    [InlineData(0, 5)]
    public void Sent_columns_refuse_a_range_outside_the_row(int c0, int c1)
    {
        // A reversed range threw OverflowException; one past D read the padding (or failed naming nothing).
        var batch = new DomainBatch(2, 4, withMask: true);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => batch.SentColumns([0], c0, c1));
        Assert.Contains($"columns [{c0}, {c1})", error.Message);
    }

    [Fact]
    public void Sent_columns_refuse_a_row_outside_the_batch()
    {
        var batch = new DomainBatch(2, 4, withMask: true);
        Assert.Equal("row", Assert.Throws<ArgumentOutOfRangeException>(() => batch.SentColumns([0, 2], 0, 4)).ParamName);
        batch.MaskRow(1)[2] = 1;
        Assert.Equal([false, false, true, false], batch.SentColumns([0, 1], 0, 4));
    }

    [Fact]
    public void Cells_inside_the_batch_read_as_before()
    {
        var batch = new DomainBatch(2, 4, withMask: true);
        batch.MaskRow(1)[3] = 1;
        batch.Row(1)[3] = 7f;
        Assert.True(batch.IsPresent(1, 3));
        Assert.False(batch.IsPresent(1, 2));
        Assert.Equal(7f, batch.Values[batch.Stride + 3]);
        Assert.True(new DomainBatch(1, 4).IsPresent(0, 3));
    }
}
