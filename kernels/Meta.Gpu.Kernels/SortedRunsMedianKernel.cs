using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The column median of a batch without a mask and with 65..256 rows (beyond <see cref="MedianNetworkKernel"/>'s
/// registers), one thread per column: the thread sorts its column in runs of 32 in registers and keeps the runs in
/// shared memory (<see cref="SortedRuns"/>), and finds each middle rank by bisection over the float values, counting
/// the cells at or below a candidate by a binary search in every run.
/// Neighbouring threads read neighbouring columns, so every load is a whole warp's coalesced row segment; a bitonic
/// sort with a thread group per column reads each cell by itself (a 32-byte sector for 4 bytes) and sorts in 36
/// barrier-separated steps. Two entry points, as the network kernel has: the combine's median (with the fused Reptile
/// step) and the outlier pass's column medians (DESIGN §4 step 3).
/// </summary>
/// <remarks>
/// <para>Same value as the walks (<see cref="ColumnOrder"/>), bit for bit: the middle values are the same floats
/// whatever order ties take, and the mean of two is taken as <see cref="ColumnOrder.Median"/> takes it. Where the
/// order of ties decides (a zero at a middle rank: -0 and +0 are equal in the walks' (value, row) order, so the rows
/// choose the sign), one more read of the column finds the zero (<see cref="ZeroRank"/>); a column with a cell that
/// is not finite goes the walks' way.</para>
/// <para>Explicitly grouped: <see cref="SortedRuns.Launch"/>.</para>
/// </remarks>
public static class SortedRunsMedianKernel
{
    /// <summary>Whether this kernel serves a median over <paramref name="rows"/> rows (those the network kernel does
    /// not, up to <see cref="SortedRuns.MaxRows"/>).</summary>
    public static bool Serves(int rows, bool hasMask) => !hasMask && rows > MedianNetworkKernel.MaxRows && rows <= SortedRuns.MaxRows;

    /// <summary>The combine's median (<see cref="CombineSettings.Median"/>) and the Reptile step. Thread = column.</summary>
    public static void Combine(
        DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, CombineSettings settings,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        // One allocation for both cell kinds: each call site of Allocate is its own shared array.
        var runs = SharedMemory.Allocate<float>(SortedRuns.SharedLength);
        var column = Grid.GlobalIndex.X;
        if (column >= matrix.Columns) return;
        double median;
        var settled = LeadingColumnCells.Serves(settings.LeadingRows, matrix)
            ? TryMedian(new LeadingColumnCells(matrix, settings.RowCount, column), runs, out median)
            : TryMedian(new ColumnCells(matrix, rows, settings.RowCount, column), runs, out median);
        if (settled)
        {
            CombineKernel.Finish(column, median, false, settings, aggregate, prior, counts);
            return;
        }
        CombineKernel.HandOver(column, matrix, rows, weights, settings, aggregate, prior, counts);
    }

    /// <summary>m_d of the outlier pass over <paramref name="count"/> listed rows. Thread = column.
    /// <paramref name="leadingRows"/>: 1 where the list is rows 0..count - 1 (<see cref="CombineSettings.LeadingRows"/>).</summary>
    public static void Medians(DenseMatrix matrix, ArrayView<int> rows, int count, int leadingRows, ArrayView<double> medians)
    {
        var runs = SharedMemory.Allocate<float>(SortedRuns.SharedLength);
        var column = Grid.GlobalIndex.X;
        if (column >= matrix.Columns) return;
        double median;
        var settled = LeadingColumnCells.Serves(leadingRows, matrix)
            ? TryMedian(new LeadingColumnCells(matrix, count, column), runs, out median)
            : TryMedian(new ColumnCells(matrix, rows, count, column), runs, out median);
        if (settled) medians[column] = median;
        else ColumnMedianKernel.Run(column, matrix, rows, count, 0, medians);
    }

    /// <summary>The median of the column's 65..256 cells; false for a column the walks must settle.</summary>
    private static bool TryMedian<TCells>(in TCells cells, ArrayView<float> runs, out double median)
        where TCells : struct, IColumnCells
    {
        var check = 0f;
        var sorted = SortedRuns.Sort(cells, runs, ref check);
        median = double.NaN;
        if (float.IsNaN(check)) return false;

        var n = cells.Count;
        var low = (n - 1) / 2;
        var high = n / 2;
        var lowValue = sorted.ValueAt(low);
        var highValue = high == low ? lowValue : sorted.Successor(lowValue, high);
        if (lowValue == 0f || highValue == 0f)
        {
            // Which zero sits at a middle rank is the rows' choice (ZeroRank).
            var below = sorted.CountBelow(0f);
            if (lowValue == 0f) lowValue = ZeroRank.At(cells, low - below);
            if (highValue == 0f) highValue = ZeroRank.At(cells, high - below);
        }
        median = n % 2 == 1 ? lowValue : ((double)lowValue + highValue) / 2.0;
        return true;
    }
}
