using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The medians of 65..256 rows against the walks (<see cref="CombineKernel"/>, <see cref="ColumnMedianKernel"/>) on the
/// same device, bit for bit: <see cref="SortedRunsMedianKernel"/> for the combine's median and the outlier pass's
/// column medians, <see cref="BitonicWeightedMedianKernel"/> for the weighted median (more cases:
/// WeightedMedianNetworkTests), with and without the fused step; the walks where neither serves (a mask, more than
/// 256 rows) or must not decide (a zero in the middle, a non-finite cell). ILGPU's CPU accelerator runs groups of 16
/// threads: the sorted runs' groups hold 16 columns there (32 on a GPU), and each thread of a bitonic sort takes
/// several comparators of a step (one on a GPU: GpuDeviceTests). Column counts that are not a multiple of the group
/// leave threads without a column.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class WideMedianTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        backend.DenseKernels = true;
        return backend;
    }

    public static TheoryData<int, int, bool> Shapes => new()
    {
        // rows, columns, ties
        { 65, 33, false },    // the fewest served: three runs, 31 pads
        { 100, 40, true },
        { 128, 17, false },   // no pad
        { 129, 20, true },    // five runs, 31 pads
        { 255, 9, false },
        { 256, 12, true },    // the most served
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheCombinesMedian_MatchesTheWalks_BitForBit(int rows, int columns, bool ties) =>
        DenseKernelTests.MatchesTheCombineKernel(_backend, AggregationMethod.Median, rows, columns, ties, attackers: rows / 8, alpha: 0.1);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheWeightedMedian_MatchesTheWalks_BitForBit(int rows, int columns, bool ties) =>
        DenseKernelTests.MatchesTheCombineKernel(_backend, AggregationMethod.WeightedMedian, rows, columns, ties, attackers: rows / 8, alpha: 0.1);

    [Fact]
    public void TheWeightedMedian_NoticesANonFiniteCell_AndSkipsAMaskOr257Rows()
    {
        var nonFinite = RandomBatch.Create(new BatchShape(120, 30, Mask: false, Ties: false, NonFinite: true), 82);
        var all = Enumerable.Range(0, 120).ToArray();
        var before = _backend.DenseCombines;
        Assert.Null(_backend.CombineUnscanned(nonFinite, all, RandomBatch.Weights(nonFinite, all, uniform: false), AggregationMethod.WeightedMedian,
            0.1, new float[30], Span<float>.Empty, null));
        Assert.Equal(before + 1, _backend.DenseCombines);
        foreach (var batch in new[] { RandomBatch.Create(new BatchShape(257, 10, Mask: false, Ties: false), 38), RandomBatch.Create(new BatchShape(100, 10, Mask: true, Ties: false), 39) })
        {
            var list = RandomBatch.EligibleRows(batch);
            before = _backend.DenseCombines;
            _backend.Combine(batch, list, RandomBatch.Weights(batch, list, uniform: false), AggregationMethod.WeightedMedian, 0.1, false, new float[10], Span<float>.Empty, null);
            Assert.Equal(before, _backend.DenseCombines);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheOutlierPassMedians_MatchTheWalks_BitForBit(int rows, int columns, bool ties)
    {
        var batch = RandomBatch.Create(new BatchShape(rows, columns, Mask: false, ties, Attackers: rows / 8), 800 + rows + columns);
        var list = Enumerable.Range(0, rows).ToArray();
        MedianNetworkTests.MatchTheWalks(_backend, batch, list);
    }

    [Fact]
    public void ASubsetOfRows_TakesOnlyItsRows()
    {
        var batch = RandomBatch.Create(new BatchShape(300, 21, Mask: false, Ties: true, Attackers: 10), 35);
        var list = Enumerable.Range(0, 300).Where(r => r % 3 != 1).ToArray(); // 200 rows
        MedianNetworkTests.MatchTheWalks(_backend, batch, list);
    }

    [Fact]
    public void MoreThan256RowsOrAMask_GoTheWalksWay()
    {
        var wide = RandomBatch.Create(new BatchShape(257, 10, Mask: false, Ties: false), 36);
        var masked = RandomBatch.Create(new BatchShape(100, 10, Mask: true, Ties: false), 37);
        foreach (var batch in new[] { wide, masked })
        {
            var list = RandomBatch.EligibleRows(batch);
            var weights = RandomBatch.Weights(batch, list, uniform: false);
            var before = _backend.DenseCombines;
            _backend.Combine(batch, list, weights, AggregationMethod.Median, 0.1, false, new float[10], Span<float>.Empty, null);
            Assert.Equal(before, _backend.DenseCombines);
        }
    }

    [Theory]
    [InlineData(65)]
    [InlineData(200)]
    [InlineData(256)]
    public void AZeroInTheMiddle_TakesTheSignTheWalksGiveIt(int rows) => MedianNetworkTests.ZeroInTheMiddle(_backend, rows);

    /// <summary>
    /// Cells dealt to the runs in turn (row k holds 8 (k % 32) + k / 32 at 256 rows): every run then holds every
    /// eighth value, and the bounds the runs give the bisection (the least cell at place rank / runs, the largest of
    /// the whole runs at place ceil((rank + 1) / whole runs) - 1) are the middle values themselves where every run is
    /// whole (96 and 256 rows), so a bound one place too tight misses.
    /// Other columns: the same dealt backwards, negated, and shifted past zero.
    /// </summary>
    [Theory]
    [InlineData(256)]
    [InlineData(255)]
    [InlineData(96)]
    public void CellsDealtToTheRunsInTurn_GiveTheWalksMedian(int rows) => DealtToTheRuns(_backend, rows);

    /// <summary>The check itself, for any ILGPU device (<see cref="GpuDeviceTests"/> on a GPU).</summary>
    internal static void DealtToTheRuns(IlgpuBackend backend, int rows)
    {
        var runs = (rows + SortedRuns.RunLength - 1) / SortedRuns.RunLength;
        var batch = new DomainBatch(rows, 4);
        for (var k = 0; k < rows; k++)
        {
            float dealt = runs * (k % SortedRuns.RunLength) + k / SortedRuns.RunLength;
            batch.Row(k)[0] = dealt;
            batch.Row(rows - 1 - k)[1] = dealt;
            batch.Row(k)[2] = -dealt;
            batch.Row(k)[3] = dealt - rows / 2f + 0.25f;
            batch.Confidences[k] = 1 + k % 3;
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        MedianNetworkTests.MatchTheWalks(backend, batch, list);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.Median, batch, list);
    }

    /// <summary>
    /// Columns the bracket of the runs settles alone (one value there: a frozen weight, a quantised one) and those
    /// whose middle is a zero of either sign, beside quantised columns with many ties at the middle.
    /// </summary>
    [Theory]
    [InlineData(200)]
    [InlineData(129)]
    public void OneValuedAndQuantisedColumns_GiveTheWalksMedian(int rows)
    {
        var random = new Random(4100 + rows);
        const int columns = 37;
        var batch = new DomainBatch(rows, columns);
        for (var k = 0; k < rows; k++)
        {
            batch.Confidences[k] = 0.5 + random.NextDouble();
            for (var c = 0; c < columns; c++)
            {
                batch.Row(k)[c] = (c % 4) switch
                {
                    0 => 0.375f + c,                                               // one value
                    1 => (k + c) % 3 == 0 ? -0f : 0f,                             // zeros of both signs
                    2 => 1f + MathF.Round((float)(random.NextDouble() * 2 - 1) * 32f) / 64f, // quantised: ties at the middle
                    _ => k == c % rows ? 1e6f : -2.5f,                            // one value and an attacker
                };
            }
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        MedianNetworkTests.MatchTheWalks(_backend, batch, list);
        DenseKernelTests.MatchesTheCombineKernel(_backend, AggregationMethod.Median, batch, list);
    }

    [Fact]
    public void ANonFiniteCell_IsNoticedAsTheWalksNoticeIt()
    {
        var batch = RandomBatch.Create(new BatchShape(120, 30, Mask: false, Ties: false, NonFinite: true), 81);
        var list = Enumerable.Range(0, 120).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: true);
        var before = _backend.DenseCombines;
        Assert.Null(_backend.CombineUnscanned(batch, list, weights, AggregationMethod.Median, 0.1, new float[30], Span<float>.Empty, null));
        Assert.Equal(before + 1, _backend.DenseCombines);
        MedianNetworkTests.MatchTheWalks(_backend, batch, list);
    }

    [Fact]
    public void ForcedChunks_MatchTheWholeBatch()
    {
        var batch = RandomBatch.Create(new BatchShape(150, 45, Mask: false, Ties: true, Attackers: 12), 62);
        var list = Enumerable.Range(0, 150).ToArray();
        var whole = MedianNetworkTests.Medians(_backend, batch, list, dense: true);
        _backend.ChunkColumns = 10;
        try
        {
            Assert.Equal(whole, MedianNetworkTests.Medians(_backend, batch, list, dense: true));
            Assert.Equal(5, _backend.LastChunkCount);
        }
        finally
        {
            _backend.ChunkColumns = null;
        }
    }
}
