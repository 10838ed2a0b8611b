using ILGPU;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The column median of a batch without a mask and with 65..256 rows (beyond <see cref="MedianNetworkKernel"/>'s
/// registers) by a bitonic sort in shared memory, one thread group per column: the group loads the column (padded
/// with +inf to a power of two), sorts it in log2(P)(log2(P) + 1)/2 steps of P/2 comparators split among its
/// threads, and reads the middle pair. The walks it replaces (<see cref="ColumnOrder"/>) read the column once per
/// rank up to the middle: 128 reads of 256 cells per column at 256 rows. Two entry points, as the network kernel
/// has: the combine's median (with the fused Reptile step) and the outlier pass's column medians (DESIGN §4 step 3).
/// </summary>
/// <remarks>
/// <para>Same value as the walks, bit for bit: the middle values are the same floats whatever order ties take, and
/// the mean of two is taken as <see cref="ColumnOrder.Median"/> takes it. Where the order of ties does decide (a zero
/// at a middle rank: -0 and +0 are equal in the walks' (value, row) order, so the rows choose the sign), one more
/// read of the column finds the zero (<see cref="ZeroRank"/>); where a cell is not finite, the group's first thread
/// walks the column instead.</para>
/// <para>Explicitly grouped (launched with <see cref="Launch"/>): at most <see cref="MaxGroupSize"/> threads, fewer
/// where the device allows fewer (ILGPU's CPU accelerator: 16), each taking every so-many comparators of a step.</para>
/// </remarks>
public static class BitonicMedianKernel
{
    /// <summary>Most rows served: the shared array's length.</summary>
    public const int MaxRows = 256;

    /// <summary>Most threads per group: one per comparator at 256 rows.</summary>
    public const int MaxGroupSize = MaxRows / 2;

    /// <summary>Whether this kernel serves a median over <paramref name="rows"/> rows (those the network kernel does
    /// not).</summary>
    public static bool Serves(int rows, bool hasMask) => !hasMask && rows > MedianNetworkKernel.MaxRows && rows <= MaxRows;

    /// <summary>The sorted length for <paramref name="rows"/> rows: the next power of two.</summary>
    public static int SortLength(int rows) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)rows);

    /// <summary>One group per column, as many threads as the sort has comparators per step, the device allows and
    /// <see cref="MaxGroupSize"/> caps.</summary>
    public static KernelConfig Launch(int columns, int rows, int deviceMaxGroupSize) =>
        new(columns, Math.Min(Math.Min(MaxGroupSize, deviceMaxGroupSize), SortLength(rows) / 2));

    /// <summary>The combine's median (<see cref="CombineSettings.Median"/>) and the Reptile step. Group = column;
    /// <paramref name="length"/> = <see cref="SortLength"/> of the row count.</summary>
    public static void Combine(
        DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, CombineSettings settings, int length,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var column = Grid.IdxX;
        var sorted = TrySortedMedian(matrix, rows, settings.RowCount, length, column, out var median);
        if (!Group.IsFirstThread) return;
        if (sorted)
        {
            CombineKernel.Finish(column, median, false, settings, aggregate, prior, counts);
            return;
        }
        CombineKernel.HandOver(column, matrix, rows, weights, settings, aggregate, prior, counts);
    }

    /// <summary>m_d of the outlier pass over <paramref name="count"/> listed rows. Group = column.</summary>
    public static void Medians(DenseMatrix matrix, ArrayView<int> rows, int count, int length, ArrayView<double> medians)
    {
        var column = Grid.IdxX;
        var sorted = TrySortedMedian(matrix, rows, count, length, column, out var median);
        if (!Group.IsFirstThread) return;
        if (sorted) medians[column] = median;
        else ColumnMedianKernel.Run(column, matrix, rows, count, 0, medians);
    }

    /// <summary>The median of the column's <paramref name="count"/> cells, sorted by the whole group; false (in every
    /// thread) for a column the walks must settle.</summary>
    private static bool TrySortedMedian(DenseMatrix matrix, ArrayView<int> rows, int count, int length, int column, out double median)
    {
        var keys = SharedMemory.Allocate<float>(MaxRows);
        median = double.NaN;
        if (SharedBitonicSort.LoadColumn(matrix, rows, count, length, column, keys)) return false;
        SharedBitonicSort.Sort(keys, length);
        var lowMiddle = keys[(count - 1) / 2];
        var highMiddle = keys[count / 2];
        if (lowMiddle == 0f || highMiddle == 0f)
        {
            // Which zero sits at a middle rank is the rows' choice (ZeroRank); every thread finds it (the same reads).
            var below = 0;
            for (var i = 0; i <= count / 2; i++) below += keys[i] < 0f ? 1 : 0;
            var cells = new ColumnCells(matrix, rows, count, column);
            if (lowMiddle == 0f) lowMiddle = ZeroRank.At(cells, (count - 1) / 2 - below);
            if (highMiddle == 0f) highMiddle = ZeroRank.At(cells, count / 2 - below);
        }
        median = count % 2 == 1 ? lowMiddle : ((double)lowMiddle + highMiddle) / 2.0;
        return true;
    }
}
