using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The dense kernels (<see cref="TrimmedMeanNetworkKernel"/>, <see cref="SortedRunsTrimmedMeanKernel"/>,
/// <see cref="WeightedMeanKernel"/>) against
/// <see cref="CombineKernel"/> on the same device: the same aggregate, prior and counts, bit for bit, where they
/// serve; the combine kernel where they do not.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class DenseKernelTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        backend.DenseKernels = true;
        return backend;
    }

    public static TheoryData<int, int, bool, int, double> Shapes => new()
    {
        // rows, columns, ties, attackers, trim_alpha
        { 3, 37, false, 0, 0.34 },      // the smallest served trim: 1 of 3
        { 5, 70, true, 1, 0.2 },
        { 31, 65, false, 2, 0.1 },      // one partial group
        { 32, 64, true, 0, 0.1 },       // one whole group
        { 33, 100, false, 3, 0.1 },     // a whole group and a partial one of one row
        { 64, 129, true, 6, 0.1 },      // columns not a multiple of the group
        { 100, 50, false, 0, 0.31 },    // trim 31: the longest the lists serve
        { 256, 40, false, 20, 0.1 },    // the most rows
        { 256, 33, true, 0, 0.12 },
        // SortedRunsTrimmedMeanKernel: trims beyond the lists
        { 256, 29, true, 12, 0.125 },   // trim 32: the shortest it serves
        { 65, 31, false, 4, 0.49 },     // trim 31: still the lists'
        { 100, 40, true, 8, 0.45 },     // trim 45 of 100: four runs, the last of four cells
        { 129, 17, false, 10, 0.3 },    // five runs, the last of one cell
        { 256, 21, true, 0, 0.45 },     // trim 115: the most rows, two kept a side of the middle
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesTheExactWalks_BitForBit(int rows, int columns, bool ties, int attackers, double alpha) =>
        MatchesTheExactWalks(_backend, rows, columns, ties, attackers, alpha);

    /// <summary>The same shapes with a row list that is not the batch's leading rows (the batch has one more row, which
    /// the list leaves out in the middle): the kernels look every row up instead of reading rows 0..n-1.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void ListedRows_MatchTheExactWalks_BitForBit(int rows, int columns, bool ties, int attackers, double alpha) =>
        MatchesTheCombineKernel(_backend, AggregationMethod.TrimmedMean, rows, columns, ties, attackers, alpha, leading: false);

    /// <summary>The check itself, for any ILGPU device (<see cref="GpuDeviceTests"/> runs it on a GPU).</summary>
    internal static void MatchesTheExactWalks(IlgpuBackend backend, int rows, int columns, bool ties, int attackers, double alpha, bool leading = true) =>
        MatchesTheCombineKernel(backend, AggregationMethod.TrimmedMean, rows, columns, ties, attackers, alpha, leading);

    [Theory]
    [InlineData(1, 70)]     // the lone Reptile step
    [InlineData(2, 33)]
    [InlineData(64, 129)]
    [InlineData(257, 40)]
    public void TheWeightedMean_MatchesTheCombineKernel_BitForBit(int rows, int columns) =>
        MatchesTheCombineKernel(_backend, AggregationMethod.Mean, rows, columns, ties: false, attackers: rows / 10, alpha: 0.1);

    /// <summary>The dense kernel of <paramref name="method"/> against the combine kernel: aggregate alone, then
    /// fused with either Reptile rule (a prior with NaN cells).</summary>
    /// <summary><paramref name="leading"/>: the list is the batch's rows 0..<paramref name="rows"/> - 1; otherwise the
    /// batch has one more row and the list leaves out row <paramref name="rows"/> / 2.</summary>
    internal static void MatchesTheCombineKernel(
        IlgpuBackend backend, AggregationMethod method, int rows, int columns, bool ties, int attackers, double alpha, bool leading = true)
    {
        var batchRows = leading ? rows : rows + 1;
        var batch = RandomBatch.Create(new BatchShape(batchRows, columns, Mask: false, ties, attackers), 900 + rows + columns);
        var list = Enumerable.Range(0, batchRows).Where(r => leading || r != rows / 2).ToArray();
        MatchesTheCombineKernel(backend, method, batch, list, alpha);
    }

    /// <summary>The same over a given batch and row list (leading rows where the list is 0..n-1).</summary>
    internal static void MatchesTheCombineKernel(IlgpuBackend backend, AggregationMethod method, DomainBatch batch, int[] list, double alpha = 0.1)
    {
        var leading = list.AsSpan().SequenceEqual(Enumerable.Range(0, list.Length).ToArray());
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        foreach (var step in new ReptileStep?[] { null, new ReptileStep(ReptileRule.Interpolate, 0.3), new ReptileStep(ReptileRule.Delta, 0.7) })
        {
            var leadingBefore = backend.LeadingRowCombines;
            var tile = Run(backend, batch, list, weights, alpha, step, denseKernels: true, out var tilePrior, out var tileEmpty, served: true, method);
            Assert.Equal(leadingBefore + (leading ? 1 : 0), backend.LeadingRowCombines);
            var exact = Run(backend, batch, list, weights, alpha, step, denseKernels: false, out var exactPrior, out var exactEmpty, served: false, method);
            Assert.Equal(exactEmpty, tileEmpty);
            Assert.Equal(Bits(exact), Bits(tile));
            Assert.Equal(Bits(exactPrior), Bits(tilePrior));
        }
    }

    [Fact]
    public void KernelTime_IsMeasuredApartFromTheCall()
    {
        var batch = RandomBatch.Create(new BatchShape(64, 300, Mask: false, Ties: false), 12);
        var list = Enumerable.Range(0, 64).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var prior = RandomBatch.Prior(300, 3);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _backend.Combine(batch, list, weights, AggregationMethod.TrimmedMean, 0.1, false, Span<float>.Empty, prior, new ReptileStep(ReptileRule.Interpolate, 0.5));
        var call = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        Assert.True(_backend.LastKernelTime > TimeSpan.Zero, $"kernel time {_backend.LastKernelTime}");
        Assert.True(_backend.LastKernelTime <= call, $"kernel time {_backend.LastKernelTime} > the call's {call}");
    }

    [Fact]
    public void ASubsetOfRows_TakesOnlyItsRows()
    {
        var batch = RandomBatch.Create(new BatchShape(80, 45, Mask: false, Ties: true, Attackers: 4), 31);
        var list = Enumerable.Range(0, 80).Where(r => r % 3 != 1).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var tile = Run(_backend, batch, list, weights, 0.1, null, denseKernels: true, out _, out _, served: true);
        var exact = Run(_backend, batch, list, weights, 0.1, null, denseKernels: false, out _, out _, served: false);
        Assert.Equal(Bits(exact), Bits(tile));
    }

    [Theory]
    [InlineData(40, 0.1)]   // the network kernel
    [InlineData(100, 0.4)]  // the bitonic kernel
    public void NonFiniteCells_AreNoticedAsTheExactWalksNoticeThem(int rows, double alpha)
    {
        var batch = RandomBatch.Create(new BatchShape(rows, 70, Mask: false, Ties: false, NonFinite: true), 77);
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: true);
        var before = _backend.DenseCombines;
        var aggregate = new float[70];
        Assert.Null(_backend.CombineUnscanned(batch, list, weights, AggregationMethod.TrimmedMean, alpha, aggregate, Span<float>.Empty, null));
        Assert.Equal(before + 1, _backend.DenseCombines);

        // The same rows without their non-finite cells: read once and accepted.
        for (var r = 0; r < rows; r++)
        {
            var row = batch.Row(r);
            for (var d = 0; d < 70; d++) if (!float.IsFinite(row[d])) row[d] = 0.25f * r;
        }
        batch.MarkChanged();
        Assert.Equal(0, _backend.CombineUnscanned(batch, list, weights, AggregationMethod.TrimmedMean, alpha, aggregate, Span<float>.Empty, null));
        var exact = Run(_backend, batch, list, weights, alpha, null, denseKernels: false, out _, out _, served: false);
        Assert.Equal(Bits(exact), Bits(aggregate));
    }

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void AnInfiniteCell_IsNoticedThoughTheTrimWouldDropIt(float infinity)
    {
        // One infinite cell among 40: the trim drops it, so the column's value is finite; the read-once round must
        // still learn of it (step 1 would have rejected its row).
        var batch = RandomBatch.Create(new BatchShape(40, 50, Mask: false, Ties: false), 78);
        batch.Row(17)[33] = infinity;
        batch.MarkChanged();
        var list = Enumerable.Range(0, 40).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var before = _backend.DenseCombines;
        Assert.Null(_backend.CombineUnscanned(batch, list, weights, AggregationMethod.TrimmedMean, 0.1, new float[50], Span<float>.Empty, null));
        Assert.Equal(before + 1, _backend.DenseCombines);
    }

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NaN)]
    public void TheWeightedMean_NoticesANonFiniteCell(float bad)
    {
        var batch = RandomBatch.Create(new BatchShape(12, 50, Mask: false, Ties: false), 79);
        batch.Row(5)[21] = bad;
        batch.MarkChanged();
        var list = Enumerable.Range(0, 12).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var before = _backend.DenseCombines;
        Assert.Null(_backend.CombineUnscanned(batch, list, weights, AggregationMethod.Mean, 0.1, new float[50], Span<float>.Empty, null));
        Assert.Equal(before + 1, _backend.DenseCombines);
    }

    [Theory]
    [InlineData(257, 0.1, false)]  // more rows than the tile holds
    [InlineData(257, 0.2, false)]  // more rows than the bitonic kernel's shared arrays
    [InlineData(9, 0.1, false)]    // trim 0: the weighted mean
    [InlineData(40, 0.1, true)]    // a mask
    public void OutsideItsLimits_TheExactWalksServe(int rows, double alpha, bool mask)
    {
        var batch = RandomBatch.Create(new BatchShape(rows, 20, mask, Ties: false), 5);
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var before = _backend.DenseCombines;
        var aggregate = new float[20];
        _backend.Combine(batch, list, weights, AggregationMethod.TrimmedMean, alpha, false, aggregate, Span<float>.Empty, null);
        Assert.Equal(before, _backend.DenseCombines);
    }

    /// <summary>Column chunks (a batch beyond the device's memory) give the whole batch's results bit for bit, for the
    /// network kernel's trims and the sorted runs' longer ones: each chunk's columns are a group's threads anew.</summary>
    [Theory]
    [InlineData(150, 0.1)]
    [InlineData(150, 0.3)]
    public void ForcedChunks_MatchTheWholeBatch(int rows, double alpha)
    {
        var batch = RandomBatch.Create(new BatchShape(rows, 45, Mask: false, Ties: true, Attackers: 12), 63);
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var step = new ReptileStep(ReptileRule.Interpolate, 0.3);
        var whole = Run(_backend, batch, list, weights, alpha, step, denseKernels: true, out var wholePrior, out _, served: true);
        _backend.ChunkColumns = 10;
        try
        {
            var chunked = Run(_backend, batch, list, weights, alpha, step, denseKernels: true, out var chunkedPrior, out _, served: true);
            Assert.Equal(5, _backend.LastChunkCount);
            Assert.Equal(Bits(whole), Bits(chunked));
            Assert.Equal(Bits(wholePrior), Bits(chunkedPrior));
        }
        finally
        {
            _backend.ChunkColumns = null;
        }
    }

    private static float[] Run(IlgpuBackend backend, DomainBatch batch, int[] list, double[] weights, double alpha, ReptileStep? step, bool denseKernels,
        out float[] prior, out int empty, bool served, AggregationMethod method = AggregationMethod.TrimmedMean)
    {
        backend.DenseKernels = denseKernels;
        try
        {
            var before = backend.DenseCombines;
            var aggregate = new float[batch.Columns];
            prior = RandomBatch.Prior(batch.Columns, batch.Rows);
            empty = backend.Combine(batch, list, weights, method, alpha, false, aggregate, prior, step);
            Assert.Equal(before + (served ? 1 : 0), backend.DenseCombines);
            return aggregate;
        }
        finally
        {
            backend.DenseKernels = true;
        }
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
