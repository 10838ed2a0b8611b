using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// IComputeBackend.Combine returns the number of columns with no present cell among the listed rows (DESIGN §4
/// dense form: such a column is NaN in the aggregate and flagged). The cpu backend answers a call with nothing to
/// write (an empty aggregate, no step) without combining: the count must still be the one a full combine gives.
/// </summary>
public sealed class CombineWithNothingToWriteTests
{
    /// <summary>Rows 0 and 2 leave columns 1 and 4 empty; row 1, not listed, sends them; column 3 has every cell.</summary>
    private static DomainBatch MaskedBatch()
    {
        const int n = 3, d = 6;
        var batch = new DomainBatch(n, d, withMask: true);
        for (var r = 0; r < n; r++)
        for (var c = 0; c < d; c++)
        {
            batch.Row(r)[c] = r + 0.25f * c;
            var present = c switch { 1 or 4 => r == 1, 3 => true, _ => r == 0 || c % 2 == 0 };
            batch.MaskRow(r)[c] = (byte)(present ? 1 : 0);
        }
        batch.MarkChanged();
        return batch;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Nothing_to_write_counts_the_empty_columns_as_a_full_combine_does(bool fastKernels)
    {
        using var cpu = new CpuBackend { UseFastKernels = fastKernels };
        var batch = MaskedBatch();
        int[] rows = [0, 2];
        double[] weights = [0.5, 0.5];
        var aggregate = new float[batch.Columns];
        var written = cpu.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, aggregate, default, null);
        Assert.Equal(2, written);
        Assert.Equal([1, 4], Enumerable.Range(0, batch.Columns).Where(c => float.IsNaN(aggregate[c])));

        Assert.Equal(2, cpu.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, default, default, null));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Nothing_to_write_over_no_rows_counts_every_column_empty(bool masked)
    {
        using var cpu = new CpuBackend();
        var batch = masked ? MaskedBatch() : new DomainBatch(3, 6);
        var aggregate = new float[batch.Columns];
        Assert.Equal(6, cpu.Combine(batch, [], [], AggregationMethod.Mean, 0.1, false, aggregate, default, null));
        Assert.All(aggregate, v => Assert.True(float.IsNaN(v)));
        Assert.Equal(6, cpu.Combine(batch, [], [], AggregationMethod.Mean, 0.1, false, default, default, null));
    }
}
