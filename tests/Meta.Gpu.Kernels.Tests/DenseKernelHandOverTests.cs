using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// A dense kernel hands a column it cannot settle (a tie its order cannot decide, a non-finite cell) to the walks,
/// which keeps every result right: a kernel broken so that it handed over every column would pass every agreement
/// test and only be slow. On plain data (no ties, no zero, no non-finite cell) each must settle all but the odd
/// column itself (<see cref="IlgpuBackend.HandedOverColumns"/>).
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class DenseKernelHandOverTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        backend.DenseKernels = true;
        return backend;
    }

    [Theory]
    [InlineData(AggregationMethod.TrimmedMean, 64, 0.1)]      // TrimmedMeanNetworkKernel
    [InlineData(AggregationMethod.TrimmedMean, 200, 0.2)]     // BitonicTrimmedMeanKernel (trim 40)
    [InlineData(AggregationMethod.Median, 64, 0.1)]           // MedianNetworkKernel
    [InlineData(AggregationMethod.Median, 100, 0.1)]          // BitonicMedianKernel
    [InlineData(AggregationMethod.WeightedMedian, 64, 0.1)]   // WeightedMedianNetworkKernel
    [InlineData(AggregationMethod.WeightedMedian, 100, 0.1)]  // BitonicWeightedMedianKernel
    public void ADenseKernel_SettlesPlainColumnsItself(AggregationMethod method, int rows, double alpha) =>
        SettlesPlainColumns(_backend, method, rows, alpha);

    /// <summary>The check itself, for any ILGPU device (<see cref="GpuDeviceTests"/> runs it on a GPU).</summary>
    internal static void SettlesPlainColumns(IlgpuBackend backend, AggregationMethod method, int rows, double alpha)
    {
        const int columns = 301;
        var rng = new Random(4000 + rows);
        var batch = new DomainBatch(rows, columns);
        for (var r = 0; r < rows; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < columns; c++) row[c] = 1f + (float)rng.NextDouble();
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = list.Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var before = backend.HandedOverColumns;
        var denseBefore = backend.DenseCombines;
        var aggregate = new float[columns];
        backend.Combine(batch, list, weights, method, alpha, false, aggregate, Span<float>.Empty, null);
        Assert.Equal(denseBefore + 1, backend.DenseCombines);
        var handedOver = backend.HandedOverColumns - before;
        Assert.True(handedOver <= columns / 100, $"{method} over {rows} rows: {handedOver} of {columns} plain columns handed to the walks");
        Assert.All(aggregate, v => Assert.InRange(v, 1f, 2f));
    }

    [Fact]
    public void TiesAtATrimBoundary_AreHandedOverAndCounted()
    {
        // Two values only: in nearly every column the 7th smallest equals the 6th, a tie only (value, row) order settles.
        const int rows = 64, columns = 40;
        var batch = RandomBatch.Create(new BatchShape(rows, columns, Mask: false, Ties: false), 5);
        var rng = new Random(5);
        for (var r = 0; r < rows; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < columns; c++) row[c] = rng.Next(2);
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = list.Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var before = _backend.HandedOverColumns;
        _backend.Combine(batch, list, weights, AggregationMethod.TrimmedMean, 0.1, false, new float[columns], Span<float>.Empty, null);
        Assert.InRange(_backend.HandedOverColumns - before, columns - 2, columns);
    }
}
