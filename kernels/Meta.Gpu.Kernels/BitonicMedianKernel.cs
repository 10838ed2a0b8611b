using ILGPU;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The column median of a batch without a mask and with 65..256 rows (beyond <see cref="MedianNetworkKernel"/>'s
/// registers) by a bitonic sort in shared memory, one thread group per tile of eight adjacent columns
/// (<see cref="SharedBitonicSort"/>): the group loads each column (padded with +inf to a power of two), sorts it in
/// log2(P)(log2(P) + 1)/2 steps of P/2 comparators split among its threads, and reads the middle pair. The walks it
/// replaces (<see cref="ColumnOrder"/>) read the column once per rank up to the middle: 128 reads of 256 cells per column at 256 rows. Two entry points, as the network kernel
/// has: the combine's median (with the fused Reptile step) and the outlier pass's column medians (DESIGN §4 step 3).
/// </summary>
/// <remarks>
/// <para>Same value as the walks, bit for bit: the middle values are the same floats whatever order ties take, and
/// the mean of two is taken as <see cref="ColumnOrder.Median"/> takes it. Where the order of ties does decide (a zero
/// at a middle rank: -0 and +0 are equal in the walks' (value, row) order, so the rows choose the sign) or a cell is
/// not finite, one thread of the group walks the column instead.</para>
/// <para>Explicitly grouped (launched with <see cref="Launch"/>): one group per tile, at most <see cref="MaxGroupSize"/>
/// threads, fewer where the device allows fewer (ILGPU's CPU accelerator: 16), each taking every so-many comparators
/// of a step.</para>
/// </remarks>
public static class BitonicMedianKernel
{
    /// <summary>Most rows served: the shared array's length.</summary>
    public const int MaxRows = 256;

    /// <summary>Most threads per group: a quarter of a step's comparators over a tile at 256 rows.</summary>
    public const int MaxGroupSize = 256;

    /// <summary>Whether this kernel serves a median over <paramref name="rows"/> rows (those the network kernel does
    /// not).</summary>
    public static bool Serves(int rows, bool hasMask) => !hasMask && rows > MedianNetworkKernel.MaxRows && rows <= MaxRows;

    /// <summary>The sorted length for <paramref name="rows"/> rows: the next power of two.</summary>
    public static int SortLength(int rows) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)rows);

    /// <summary>One group per tile of <see cref="SharedBitonicSort.Columns"/> columns (the last one partial), as many
    /// threads as the tile's sort has comparators per step, the device allows and <see cref="MaxGroupSize"/> caps.</summary>
    public static KernelConfig Launch(int columns, int rows, int deviceMaxGroupSize) =>
        new((columns + SharedBitonicSort.Columns - 1) / SharedBitonicSort.Columns,
            Math.Min(Math.Min(MaxGroupSize, deviceMaxGroupSize), SharedBitonicSort.Columns * SortLength(rows) / 2));

    /// <summary>The combine's median (<see cref="CombineSettings.Median"/>) and the Reptile step. Group = tile;
    /// <paramref name="length"/> = <see cref="SortLength"/> of the row count.</summary>
    public static void Combine(
        DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, CombineSettings settings, int length,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var keys = SharedMemory.Allocate<float>(SharedBitonicSort.TileLength);
        var nonFinite = SharedMemory.Allocate<int>(SharedBitonicSort.Columns);
        SortTile(matrix, rows, settings.RowCount, length, keys, nonFinite);
        for (var j = Group.IdxX; j < SharedBitonicSort.Columns; j += Group.DimX)
        {
            var column = SharedBitonicSort.FirstColumn + j;
            if (column >= matrix.Columns) continue;
            if (nonFinite[j] == 0 && TryMedian(SharedBitonicSort.Column(keys, j), settings.RowCount, out var median))
            {
                CombineKernel.Finish(column, median, false, settings, aggregate, prior, counts);
                continue;
            }
            var value = CombineKernel.Combine(matrix, rows, weights, settings, column, out var exactNonFinite);
            CombineKernel.Finish(column, value, exactNonFinite, settings, aggregate, prior, counts);
        }
    }

    /// <summary>m_d of the outlier pass over <paramref name="count"/> listed rows. Group = tile.</summary>
    public static void Medians(DenseMatrix matrix, ArrayView<int> rows, int count, int length, ArrayView<double> medians)
    {
        var keys = SharedMemory.Allocate<float>(SharedBitonicSort.TileLength);
        var nonFinite = SharedMemory.Allocate<int>(SharedBitonicSort.Columns);
        SortTile(matrix, rows, count, length, keys, nonFinite);
        for (var j = Group.IdxX; j < SharedBitonicSort.Columns; j += Group.DimX)
        {
            var column = SharedBitonicSort.FirstColumn + j;
            if (column >= matrix.Columns) continue;
            if (nonFinite[j] == 0 && TryMedian(SharedBitonicSort.Column(keys, j), count, out var median)) medians[column] = median;
            else ColumnMedianKernel.Run(column, matrix, rows, count, 0, medians);
        }
    }

    /// <summary>Loads and sorts the group's tile (every thread of the group calls it).</summary>
    private static void SortTile(DenseMatrix matrix, ArrayView<int> rows, int count, int length, ArrayView<float> keys, ArrayView<int> nonFinite)
    {
        SharedBitonicSort.LoadTile(matrix, rows, count, length, keys, nonFinite);
        SharedBitonicSort.Sort(keys, length);
    }

    /// <summary>The median of a sorted column's <paramref name="count"/> cells; false for a column the walks must
    /// settle (a zero at a middle rank).</summary>
    private static bool TryMedian(ArrayView<float> sorted, int count, out double median)
    {
        var lowMiddle = sorted[(count - 1) / 2];
        var highMiddle = sorted[count / 2];
        median = double.NaN;
        if (lowMiddle == 0f || highMiddle == 0f) return false;
        median = count % 2 == 1 ? lowMiddle : ((double)lowMiddle + highMiddle) / 2.0;
        return true;
    }
}
