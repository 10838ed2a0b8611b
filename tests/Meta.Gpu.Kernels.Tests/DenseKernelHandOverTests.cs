using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// A dense kernel hands a column it cannot settle (a non-finite cell; for some, a tie its order cannot decide) to the walks,
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
    [InlineData(AggregationMethod.TrimmedMean, 200, 0.2)]     // SortedRunsTrimmedMeanKernel (trim 40)
    [InlineData(AggregationMethod.Median, 64, 0.1)]           // MedianNetworkKernel
    [InlineData(AggregationMethod.Median, 100, 0.1)]          // SortedRunsMedianKernel
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

    /// <summary>
    /// Ties at a trim boundary, which only (value, row) order settles, are settled by the network kernel itself (one
    /// such column in a block of threads used to hold its multiprocessor for the walks' 2 x trim passes), bit for bit
    /// as the walks settle them: two values a column, one value (the two bounds equal), three values, a run of the
    /// largest value longer than a list, and the rows in order with one value twice, so that exactly the last dropped
    /// and the first kept cell tie at the bottom (or the last kept and the first dropped at the top); with the batch's
    /// leading rows and with a row left out of the list.
    /// </summary>
    [Theory]
    [InlineData(64, true, 0.1)]
    [InlineData(64, false, 0.1)]
    [InlineData(45, true, 0.1)]    // a partial group
    [InlineData(256, false, 0.1)]
    [InlineData(256, true, 0.1)]
    [InlineData(200, true, 0.2)]   // trim 40: SortedRunsTrimmedMeanKernel
    [InlineData(129, false, 0.3)]  // trim 38 of a listed 129
    public void TiesAtATrimBoundary_AreSettledByTheDenseKernel_BitForBit(int rows, bool leading, double alpha) =>
        SettlesTiesItself(_backend, rows, leading, alpha);

    /// <summary>The check itself, for any ILGPU device (<see cref="GpuDeviceTests"/> runs it on a GPU).</summary>
    internal static void SettlesTiesItself(IlgpuBackend backend, int rows, bool leading, double alpha = 0.1)
    {
        const int columns = 75;
        var trim = (int)Math.Floor(alpha * rows);
        var rng = new Random(6000 + rows);
        var batchRows = leading ? rows : rows + 1;
        var batch = new DomainBatch(batchRows, columns);
        for (var r = 0; r < batchRows; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < columns; c++)
            {
                row[c] = (c % 7) switch
                {
                    0 => rng.Next(2),
                    1 => 3.5f,
                    2 => rng.Next(3) - 1,
                    3 => r % 2 == 0 ? 7f : (float)rng.NextDouble(),
                    4 => r == trim ? trim - 1 : r,
                    5 => r == rows - 1 - trim ? rows - trim : r,
                    _ => (float)rng.NextDouble(),
                };
            }
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, batchRows).Where(r => leading || r != rows / 3).ToArray();
        var weights = list.Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var step = new ReptileStep(ReptileRule.Interpolate, 0.4);

        var before = backend.HandedOverColumns;
        var denseBefore = backend.DenseCombines;
        var aggregate = new float[columns];
        var prior = Enumerable.Range(0, columns).Select(c => c * 0.01f).ToArray();
        backend.Combine(batch, list, weights, AggregationMethod.TrimmedMean, alpha, false, aggregate, prior, step);
        Assert.Equal(denseBefore + 1, backend.DenseCombines);
        Assert.Equal(before, backend.HandedOverColumns);

        backend.DenseKernels = false;
        var walked = new float[columns];
        var walkedPrior = Enumerable.Range(0, columns).Select(c => c * 0.01f).ToArray();
        try
        {
            backend.Combine(batch, list, weights, AggregationMethod.TrimmedMean, alpha, false, walked, walkedPrior, step);
        }
        finally
        {
            backend.DenseKernels = true;
        }
        Assert.Equal(walked.Select(BitConverter.SingleToInt32Bits), aggregate.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(walkedPrior.Select(BitConverter.SingleToInt32Bits), prior.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void ColumnsWithANonFiniteCell_AreHandedOverAndCounted()
    {
        const int rows = 64, columns = 40;
        var batch = RandomBatch.Create(new BatchShape(rows, columns, Mask: false, Ties: false), 5);
        var rng = new Random(5);
        var poisoned = new[] { 3, 17, 18, 39 };
        foreach (var c in poisoned) batch.Row(rng.Next(rows))[c] = c % 2 == 0 ? float.NaN : float.PositiveInfinity;
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = list.Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var before = _backend.HandedOverColumns;
        _backend.Combine(batch, list, weights, AggregationMethod.TrimmedMean, 0.1, false, new float[columns], Span<float>.Empty, null);
        Assert.Equal(before + poisoned.Length, _backend.HandedOverColumns);
    }
}
