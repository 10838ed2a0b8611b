using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// DESIGN §4 step 6: trimmed_mean drops k = floor(trim_alpha * n_d) from each end of the (value, row) order and
/// averages the rest; with n_d = 2k + 1 one cell is left. A column of one value (a weight no domain changed) ties
/// across both trim boundaries, and the kernels that settle such ties by counting the cells at the bounds must still
/// keep exactly that one cell: its value, not the NaN of an empty sum. On every kernel: the walks (a mask), the
/// network kernel (trims up to 31) and the sorted runs (trims of 32 and more).
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class TrimmedMeanSingleKeptCellTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        backend.DenseKernels = true;
        return backend;
    }

    [Theory]
    [InlineData(3, 0.34, true)]     // k = 1: the walks
    [InlineData(3, 0.34, false)]    // k = 1: TrimmedMeanNetworkKernel
    [InlineData(63, 0.495, false)]  // k = 31: the longest trim the network's lists serve
    [InlineData(65, 0.495, false)]  // k = 32: SortedRunsTrimmedMeanKernel
    [InlineData(65, 0.495, true)]
    public void A_column_of_one_value_trimmed_to_a_single_cell_is_that_value(int rows, double alpha, bool mask)
    {
        Assert.Equal(rows, 2 * (int)Math.Floor(alpha * rows) + 1);
        // Column 0: one value everywhere; column 1: one value but for a higher value in the middle row, which (value,
        // row) order puts last, so it is dropped at the top.
        var batch = new DomainBatch(rows, 2, withMask: mask);
        for (var r = 0; r < rows; r++)
        {
            batch.Row(r)[0] = 3.5f;
            batch.Row(r)[1] = r == rows / 2 ? 9f : -1.25f;
            if (mask) batch.MaskRow(r).Fill(1);
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var rng = new Random(rows);
        var weights = list.Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var before = _backend.DenseCombines;
        var aggregate = new float[2];
        float[] prior = [1f, 1f];
        var empty = _backend.Combine(batch, list, weights, AggregationMethod.TrimmedMean, alpha, false, aggregate, prior, new ReptileStep(ReptileRule.Interpolate, 0.5));

        Assert.Equal(before + (mask ? 0 : 1), _backend.DenseCombines);
        Assert.Equal(0, empty);
        Assert.Equal([3.5f, -1.25f], aggregate);
        Assert.Equal([1f + 0.5f * (3.5f - 1f), 1f + 0.5f * (-1.25f - 1f)], prior);
    }
}
