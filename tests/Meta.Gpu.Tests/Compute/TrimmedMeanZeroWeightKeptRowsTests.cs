using Meta.Gpu.Compute;
using Meta.Gpu.Compute.Cpu;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A trimmed mean over columns of one value whose kept rows all weigh zero (a zero weight is accepted: its row takes
/// no weighted part). Equal values sort by row, so the kept cells, sorted positions k..n-k-1, are rows k..n-k-1;
/// the reference's sum q x / sum q over them is 0 / 0, an empty column (NaN, counted empty), whatever the trimmed
/// rows weigh. The cpu kernels took thresholds of one value to mean "the result is that value whatever the
/// weights" and wrote the value.
/// </summary>
public sealed class TrimmedMeanZeroWeightKeptRowsTests
{
    [Theory]
    [InlineData(9, 0.4, 0)]   // the tiled kernel: k = 3, rows 3-5 kept
    [InlineData(64, 0.45, 0)] // the streamed kernel: k = 28, rows 28-35 kept; eight-column int keys
    [InlineData(64, 0.45, 1)] // sixteen-column int keys
    [InlineData(64, 0.45, 2)] // sixteen-column floats
    public void Kept_rows_that_all_weigh_zero_leave_the_column_empty_as_in_the_reference(int n, double alpha, int lanes)
    {
        const int d = 35; // whole vectors of eight and sixteen, and a scalar tail
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++) batch.Row(r).Fill(2.5f);
        batch.MarkChanged();
        var k = ColumnRules.TrimCount(alpha, n);
        var weights = Enumerable.Range(0, n).Select(r => r >= k && r < n - k ? 0.0 : 1.0).ToArray();
        var reference = ColumnRules.TrimmedMean([.. weights.Select((w, r) => new ColumnCell(2.5, w, r))], alpha);
        Assert.True(double.IsNaN(reference), $"reference {reference}");

        using var backend = new CpuBackend(1) { SelectionLanes = (SelectionLanes)lanes };
        var aggregate = new float[d];
        var empty = backend.Combine(batch, Enumerable.Range(0, n).ToArray(), weights, AggregationMethod.TrimmedMean, alpha, false, aggregate, default, null);

        for (var c = 0; c < d; c++) Assert.True(float.IsNaN(aggregate[c]), $"n={n}, lanes {(SelectionLanes)lanes}, column {c}: {aggregate[c]}, expected NaN");
        Assert.Equal(d, empty);
    }
}
