using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// <see cref="MedianNetworkKernel"/> against the walks (<see cref="CombineKernel"/>, <see cref="ColumnMedianKernel"/>)
/// on the same device, bit for bit: the combine's median with and without the fused step, and the outlier pass's
/// column medians; the bitonic kernel beyond 64 rows, the walks with a mask or where it must not decide (a zero in the
/// middle, a non-finite cell).
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class MedianNetworkTests(IlgpuCpuFixture fixture)
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
        { 2, 33, false },     // the fewest served: the mean of both
        { 3, 40, true },
        { 31, 65, false },    // one partial group
        { 32, 64, true },     // one whole group; the upper middle rank is 16
        { 33, 70, false },    // a whole group and one row
        { 63, 129, true },    // odd: rank 31, the last of the low list
        { 64, 100, false },   // even: ranks 31 and 32, the low list's last and the high list's first
        { 64, 57, true },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheCombinesMedian_MatchesTheWalks_BitForBit(int rows, int columns, bool ties) =>
        DenseKernelTests.MatchesTheCombineKernel(_backend, AggregationMethod.Median, rows, columns, ties, attackers: rows / 8, alpha: 0.1);

    /// <summary>A list that leaves a row out: the kernel looks each row up instead of reading rows 0..n-1.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheCombinesMedian_OverListedRows_MatchesTheWalks_BitForBit(int rows, int columns, bool ties) =>
        DenseKernelTests.MatchesTheCombineKernel(_backend, AggregationMethod.Median, rows, columns, ties, attackers: rows / 8, alpha: 0.1, leading: false);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheOutlierPassMedians_MatchTheWalks_BitForBit(int rows, int columns, bool ties)
    {
        var batch = RandomBatch.Create(new BatchShape(rows, columns, Mask: false, ties, Attackers: rows / 8), 700 + rows + columns);
        var list = Enumerable.Range(0, rows).ToArray();
        MatchTheWalks(_backend, batch, list);
    }

    [Fact]
    public void ASubsetOfRows_TakesOnlyItsRows()
    {
        var batch = RandomBatch.Create(new BatchShape(90, 45, Mask: false, Ties: true, Attackers: 4), 32);
        var list = Enumerable.Range(0, 90).Where(r => r % 3 != 1).ToArray(); // 60 rows
        MatchTheWalks(_backend, batch, list);
    }

    [Fact]
    public void MoreThan64Rows_GoTheSortedRuns_AndAMask_TheWalks()
    {
        var wide = RandomBatch.Create(new BatchShape(65, 30, Mask: false, Ties: false), 33);
        var masked = RandomBatch.Create(new BatchShape(20, 30, Mask: true, Ties: false), 34);
        foreach (var (batch, served) in new[] { (wide, true), (masked, false) })
        {
            var list = RandomBatch.EligibleRows(batch);
            var weights = RandomBatch.Weights(batch, list, uniform: false);
            var before = _backend.DenseCombines;
            _backend.Combine(batch, list, weights, AggregationMethod.Median, 0.1, false, new float[30], Span<float>.Empty, null);
            // Beyond the network's 64 rows the sorted runs (WideMedianTests) serve; a mask, neither.
            Assert.Equal(before + (served ? 1 : 0), _backend.DenseCombines);
            MatchTheWalks(_backend, batch, list);
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(64)]
    public void AZeroInTheMiddle_TakesTheSignTheWalksGiveIt(int rows) => ZeroInTheMiddle(_backend, rows);

    /// <summary>
    /// The check itself, for any ILGPU device and either median kernel (<see cref="WideMedianTests"/> beyond 64
    /// rows, <see cref="GpuDeviceTests"/> on a GPU): the outlier pass's medians and the combine's, bit for bit as the
    /// walks give them, the combine's settled by the kernel (no column handed to the walks).
    /// </summary>
    internal static void ZeroInTheMiddle(IlgpuBackend backend, int rows)
    {
        // The walks order -0 and +0 by row: the middle ranks are the middle rows' cells, +0 here. More -0 cells than
        // the upper middle rank elsewhere put -0 at both middle ranks of any order that puts -0 first.
        var batch = new DomainBatch(rows, 3);
        var (lowMiddle, highMiddle) = ((rows - 1) / 2, rows / 2);
        var negatives = 0;
        for (var r = 0; r < rows; r++)
        {
            var middle = r == lowMiddle || r == highMiddle;
            var negative = !middle && negatives <= highMiddle;
            if (negative) negatives++;
            batch.Row(r)[0] = negative ? -0f : 0f;
            batch.Row(r)[1] = middle ? 0f : negative ? -1f - r : 1f + r;
            batch.Row(r)[2] = r % 2 == 0 ? -0f : 0f;
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: true);
        MatchTheWalks(backend, batch, list);
        var handedOver = backend.HandedOverColumns;
        var dense = Combine(backend, batch, list, weights, dense: true);
        Assert.Equal(handedOver, backend.HandedOverColumns);
        Assert.Equal(Bits(Combine(backend, batch, list, weights, dense: false)), Bits(dense));
    }

    [Fact]
    public void ANonFiniteCell_IsNoticedAsTheWalksNoticeIt()
    {
        var batch = RandomBatch.Create(new BatchShape(40, 70, Mask: false, Ties: false, NonFinite: true), 79);
        var list = Enumerable.Range(0, 40).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: true);
        var before = _backend.DenseCombines;
        Assert.Null(_backend.CombineUnscanned(batch, list, weights, AggregationMethod.Median, 0.1, new float[70], Span<float>.Empty, null));
        Assert.Equal(before + 1, _backend.DenseCombines);
        MatchTheWalks(_backend, batch, list);
    }

    /// <summary>The outlier pass's column medians by the dense kernels are the walks', bit for bit. Shared with
    /// <see cref="WideMedianTests"/> and <see cref="GpuDeviceTests"/>.</summary>
    internal static void MatchTheWalks(IlgpuBackend backend, DomainBatch batch, int[] list) =>
        Assert.Equal(Medians(backend, batch, list, dense: false), Medians(backend, batch, list, dense: true));

    /// <summary>The outlier pass's column medians as bits, by the network (<paramref name="dense"/>) or the walks.
    /// Shared with <see cref="GpuDeviceTests"/>.</summary>
    internal static long[] Medians(IlgpuBackend backend, DomainBatch batch, int[] list, bool dense)
    {
        backend.DenseKernels = dense;
        try
        {
            var medians = new double[batch.Columns];
            backend.ColumnMedians(batch, list, false, medians);
            return medians.Select(BitConverter.DoubleToInt64Bits).ToArray();
        }
        finally
        {
            backend.DenseKernels = true;
        }
    }

    private float[] Combine(DomainBatch batch, int[] list, double[] weights, bool dense) => Combine(_backend, batch, list, weights, dense);

    private static float[] Combine(IlgpuBackend backend, DomainBatch batch, int[] list, double[] weights, bool dense)
    {
        backend.DenseKernels = dense;
        try
        {
            var aggregate = new float[batch.Columns];
            backend.Combine(batch, list, weights, AggregationMethod.Median, 0.1, false, aggregate, Span<float>.Empty, null);
            return aggregate;
        }
        finally
        {
            backend.DenseKernels = true;
        }
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
