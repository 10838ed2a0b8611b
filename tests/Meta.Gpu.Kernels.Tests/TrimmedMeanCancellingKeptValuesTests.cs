using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// DESIGN §4 step 6 and §13: the trimmed mean is sum q x / sum q over the kept cells of the (value, row) order, within
/// 1e-4 abs + 1e-4 rel of the float64 reference, which sums them in that sorted order. Where the kept cells hold +m
/// and -m (m = 1e20, rows 0 and 1) beside values below 1, the reference adds the small values to -m q, which loses
/// them, and ends at 0; the kernels summed the kept cells in row order, where +m q and -m q cancel first and the small
/// values' mean (about 0.5) remains. Both are float64 sums of the same products: only the reference's order gives its
/// value. On every kernel: the network kernel (trims up to 31), the sorted runs (trims of 32 and more), and the walks
/// (a mask, more than 256 rows).
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class TrimmedMeanCancellingKeptValuesTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        backend.DenseKernels = true;
        return backend;
    }

    [Theory]
    [InlineData(5, 0.2, false)]    // k = 1: TrimmedMeanNetworkKernel
    [InlineData(5, 0.2, true)]     // k = 1: the walks
    [InlineData(100, 0.4, false)]  // k = 40: SortedRunsTrimmedMeanKernel
    [InlineData(300, 0.1, false)]  // k = 30 of 300 rows: the walks
    public void Kept_values_that_cancel_are_summed_in_the_references_order(int rows, double alpha, bool mask)
    {
        const float m = 1e20f;
        const int columns = 3;
        var trim = ColumnRules.TrimCount(alpha, rows);
        var batch = new DomainBatch(rows, columns, withMask: mask);
        var rng = new Random(rows);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                // Rows 0 and 1 kept (+m, -m); the next trim rows dropped at the bottom (-2m), the trim after them at
                // the top (+2m); the rest small.
                batch.Row(r)[c] = r switch
                {
                    0 => m,
                    1 => -m,
                    _ when r < 2 + trim => -2 * m,
                    _ when r < 2 + 2 * trim => 2 * m,
                    _ => 0.25f + 0.5f * rng.NextSingle(),
                };
            }
            if (mask) batch.MaskRow(r).Fill(1);
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = Enumerable.Repeat(1.0 / rows, rows).ToArray();
        var expected = new float[columns];
        for (var c = 0; c < columns; c++)
            expected[c] = (float)ColumnRules.TrimmedMean([.. list.Select(r => new ColumnCell(batch.Row(r)[c], weights[r], r))], alpha);

        var aggregate = new float[columns];
        float[] prior = [1f, 1f, 1f];
        var empty = _backend.Combine(batch, list, weights, AggregationMethod.TrimmedMean, alpha, false, aggregate, prior,
            new ReptileStep(ReptileRule.Interpolate, 0.5));

        Assert.Equal(0, empty);
        Tolerance.Agree(expected, aggregate, $"{rows} rows, trim {trim}, mask {mask}");
        Tolerance.Agree(expected.Select(v => DenseReptile.StepValue(1f, v, new ReptileStep(ReptileRule.Interpolate, 0.5))).ToArray(), prior, "prior");
    }
}
