using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// One combine of every row of a batch with equal weights, on the cpu backend's fast kernels and on its exact
/// path (one worker each, so the fast kernels see the whole batch in one chunk).
/// </summary>
public static class FastAndExactCombine
{
    /// <summary>The exact path's result and the fast kernels': the aggregate, or with a step the prior stepped from
    /// cos(column).</summary>
    public static (float[] Expected, float[] Actual) Run(DomainBatch batch, AggregationMethod method, double trimAlpha, ReptileStep? step)
    {
        var n = batch.Rows;
        var d = batch.Columns;
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = Enumerable.Repeat(1.0 / n, n).ToArray();
        using var fast = new CpuBackend(maxDegreeOfParallelism: 1);
        using var exact = new CpuBackend(maxDegreeOfParallelism: 1) { UseFastKernels = false };
        var expected = step is null ? new float[d] : Enumerable.Range(0, d).Select(c => (float)Math.Cos(c)).ToArray();
        var actual = (float[])expected.Clone();
        if (step is null)
        {
            exact.Combine(batch, rows, weights, method, trimAlpha, false, expected, default, null);
            fast.Combine(batch, rows, weights, method, trimAlpha, false, actual, default, null);
        }
        else
        {
            exact.Combine(batch, rows, weights, method, trimAlpha, false, default, expected, step);
            fast.Combine(batch, rows, weights, method, trimAlpha, false, default, actual, step);
        }
        return (expected, actual);
    }
}
