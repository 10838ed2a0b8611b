using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// <see cref="WeightedMedianNetworkKernel"/> against the walks of <see cref="CombineKernel"/> on the same device, bit
/// for bit, with and without the fused step: random weights, equal weights (the half-mass midpoint), ties that the
/// rows must order, zeros of both signs at the pick; the walks where neither network serves (a mask)
/// or must not decide (a non-finite cell). The cases of 65..256 rows run <see cref="BitonicWeightedMedianKernel"/>,
/// which the same rules hold for.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class WeightedMedianNetworkTests(IlgpuCpuFixture fixture)
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
        { 2, 33, false },     // the fewest served
        { 3, 40, true },
        { 31, 65, false },    // the 32-pair network with a pad
        { 32, 64, true },     // the 32-pair network, full
        { 33, 70, false },    // the 64-pair network, 31 pads
        { 63, 129, true },
        { 64, 100, false },   // the 64-pair network, full
        { 64, 57, true },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RandomWeights_MatchTheWalks_BitForBit(int rows, int columns, bool ties) =>
        DenseKernelTests.MatchesTheCombineKernel(_backend, AggregationMethod.WeightedMedian, rows, columns, ties, attackers: rows / 8, alpha: 0.1);

    [Theory]
    [InlineData(2)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(100)]   // BitonicWeightedMedianKernel from here
    [InlineData(256)]
    public void EqualWeights_TakeTheMidpointAsTheWalksDo(int rows)
    {
        // With q = 1/n and n even the running sum meets S/2 within eps at the lower middle cell: the mean of two.
        var batch = RandomBatch.Create(new BatchShape(rows, 300, Mask: false, Ties: true, Attackers: rows / 8), 50 + rows);
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: true);
        var exact = Combine(batch, list, weights, dense: false);
        Assert.Equal(exact, Combine(batch, list, weights, dense: true));
        // The midpoint rule did decide here: some column's value is none of its cells.
        var midpoints = Enumerable.Range(0, batch.Columns)
            .Count(c => list.All(r => BitConverter.SingleToInt32Bits(batch.Row(r)[c]) != exact[c]));
        if (rows % 2 == 0) Assert.True(midpoints > 0, "no column took the mean of two");
        else Assert.Equal(0, midpoints);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(40)]
    public void TiesAcrossTheHalfMass_AreOrderedByRow(int rows)
    {
        // Column 0: every cell 1.0, one heavy row; column 1: two values, the heavy row among the equal ones; column 2:
        // zeros of both signs, so the pick's sign is the picked row's.
        var batch = new DomainBatch(rows, 3);
        for (var r = 0; r < rows; r++)
        {
            batch.Row(r)[0] = 1f;
            batch.Row(r)[1] = r % 3 == 0 ? 2f : 1f;
            batch.Row(r)[2] = r % 2 == 0 ? -0f : 0f;
        }
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = list.Select(r => r == rows / 2 ? 5.0 : 1.0).ToArray();
        var sum = weights.Sum();
        weights = weights.Select(w => w / sum).ToArray();
        Assert.Equal(Combine(batch, list, weights, dense: false), Combine(batch, list, weights, dense: true));
        var uniform = RandomBatch.Weights(batch, list, uniform: true);
        Assert.Equal(Combine(batch, list, uniform, dense: false), Combine(batch, list, uniform, dense: true));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(40)]
    [InlineData(200)]   // BitonicWeightedMedianKernel
    public void EqualValues_AreWalkedInRowOrder(int rows)
    {
        // A run of zeros holds the two middle ranks; equal weights put the half mass between them (the mean of two).
        // In row order those are rows n/2 - 1 and n/2, both -0 here; any other order of the run lands elsewhere in
        // it (reversed: rows z - n/2 - 1 and z - n/2, +0), and the aggregate's sign tells.
        var zeros = rows * 3 / 4;
        var batch = new DomainBatch(rows, 1);
        for (var r = 0; r < rows; r++) batch.Row(r)[0] = r >= zeros ? 1f : r == rows / 2 - 1 || r == rows / 2 ? -0f : 0f;
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: true);
        var exact = Combine(batch, list, weights, dense: false);
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), exact[0]);
        Assert.Equal(exact, Combine(batch, list, weights, dense: true));
    }

    [Fact]
    public void ARunningSumExactlyOnTheBar_Picks()
    {
        // q0 = 0.5 - 1e-12 is exactly S/2 - 1e-12 S (S = 1): "reaches" includes equality, so row 0's cell is picked,
        // within eps of S/2, and averaged with the next: 1.5. A strict test would pick row 1's cell alone: 2.
        var batch = new DomainBatch(2, 1);
        batch.Row(0)[0] = 1f;
        batch.Row(1)[0] = 2f;
        batch.MarkChanged();
        int[] list = [0, 1];
        double[] weights = [0.5 - 1e-12, 0.5 + 1e-12];
        var exact = Combine(batch, list, weights, dense: false);
        Assert.Equal(BitConverter.SingleToInt32Bits(1.5f), exact[0]);
        Assert.Equal(exact, Combine(batch, list, weights, dense: true));
    }

    [Fact]
    public void ARunningSumExactlyOnTheBar_Picks_Beyond64Rows()
    {
        // The same on BitonicWeightedMedianKernel's path: 65 rows, row 0's q exactly S/2 - 1e-12 S (weights found by
        // search; the sums are those of the walks, in this order), the other 64 rows above it.
        const int rows = 65;
        var batch = new DomainBatch(rows, 1);
        for (var r = 0; r < rows; r++) batch.Row(r)[0] = 1f + r;
        batch.MarkChanged();
        var list = Enumerable.Range(0, rows).ToArray();
        var weights = list.Select(r => r == 0 ? 0.49999999999899836 : 0.007812500000015555).ToArray();
        var exact = Combine(batch, list, weights, dense: false);
        Assert.Equal(BitConverter.SingleToInt32Bits(1.5f), exact[0]);
        Assert.Equal(exact, Combine(batch, list, weights, dense: true));
    }

    [Fact]
    public void ForcedChunks_MatchTheWholeBatch()
    {
        var batch = RandomBatch.Create(new BatchShape(48, 1003, Mask: false, Ties: true, Attackers: 5), 61);
        var list = Enumerable.Range(0, 48).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var whole = Combine(batch, list, weights, dense: true);
        _backend.ChunkColumns = 100;
        try
        {
            Assert.Equal(whole, Combine(batch, list, weights, dense: true));
            Assert.Equal(11, _backend.LastChunkCount);
        }
        finally
        {
            _backend.ChunkColumns = null;
        }
        Assert.Equal(Combine(batch, list, weights, dense: false), whole);
    }

    [Fact]
    public void MoreThan64Rows_GoTheBitonicKernel_AndAMask_TheWalks()
    {
        var wide = RandomBatch.Create(new BatchShape(65, 30, Mask: false, Ties: false), 33);
        var masked = RandomBatch.Create(new BatchShape(20, 30, Mask: true, Ties: false), 34);
        foreach (var (batch, served) in new[] { (wide, true), (masked, false) })
        {
            var list = RandomBatch.EligibleRows(batch);
            var weights = RandomBatch.Weights(batch, list, uniform: false);
            var before = _backend.DenseCombines;
            var aggregate = new float[30];
            _backend.Combine(batch, list, weights, AggregationMethod.WeightedMedian, 0.1, false, aggregate, Span<float>.Empty, null);
            // Beyond the network's 64 rows BitonicWeightedMedianKernel serves (WideMedianTests); a mask, neither.
            Assert.Equal(before + (served ? 1 : 0), _backend.DenseCombines);
        }
    }

    [Fact]
    public void ANonFiniteCell_IsNoticedAsTheWalksNoticeIt()
    {
        var batch = RandomBatch.Create(new BatchShape(40, 70, Mask: false, Ties: false, NonFinite: true), 79);
        var list = Enumerable.Range(0, 40).ToArray();
        var weights = RandomBatch.Weights(batch, list, uniform: false);
        var before = _backend.DenseCombines;
        Assert.Null(_backend.CombineUnscanned(batch, list, weights, AggregationMethod.WeightedMedian, 0.1, new float[70], Span<float>.Empty, null));
        Assert.Equal(before + 1, _backend.DenseCombines);
        Assert.Equal(Combine(batch, list, weights, dense: false), Combine(batch, list, weights, dense: true));
    }

    private int[] Combine(DomainBatch batch, int[] list, double[] weights, bool dense)
    {
        _backend.DenseKernels = dense;
        try
        {
            var before = _backend.DenseCombines;
            var aggregate = new float[batch.Columns];
            _backend.Combine(batch, list, weights, AggregationMethod.WeightedMedian, 0.1, false, aggregate, Span<float>.Empty, null);
            Assert.Equal(before + (dense ? 1 : 0), _backend.DenseCombines);
            return aggregate.Select(BitConverter.SingleToInt32Bits).ToArray();
        }
        finally
        {
            _backend.DenseKernels = true;
        }
    }
}
