using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The trimmed mean (and the fused Reptile step) of a batch without a mask, 65..256 rows and a trim beyond
/// <see cref="TrimmedMeanNetworkKernel"/>'s lists (32 or more a side: trim_alpha from 0.125 at 256 rows, 0.25 at
/// 128), one thread per column: the thread sorts its column into runs (<see cref="SortedRuns"/>), takes the four
/// values around the trim boundaries (the last dropped and the first kept at each end) from them, and sums q x over
/// the kept cells in row order as <see cref="TrimmedMeanNetworkKernel"/> does, ties at a boundary settled by rows
/// (<see cref="TrimmedMeanNetworkKernel.AddKeptAcrossTies{TCells}"/>; the runs count the cells at the top bound, so
/// no extra pass does). The walks it replaces (<see cref="CombineKernel"/>) read the column 2 trim times.
/// </summary>
/// <remarks>
/// Same value as the walks, bit for bit: the kept rows are the walks' ((value, row) order decides ties at a trim
/// boundary), summed in row order with the same q (<c>shares</c>, from the host). A column with a cell that is not
/// finite goes the walks' way. Explicitly grouped: <see cref="SortedRuns.Launch"/>.
/// </remarks>
public static class SortedRunsTrimmedMeanKernel
{
    /// <summary>Whether this kernel serves a trimmed mean over <paramref name="rows"/> rows trimming
    /// <paramref name="trim"/> from each end (those the network kernel does not).</summary>
    public static bool Serves(int rows, int trim, bool hasMask) =>
        !hasMask && rows > MedianNetworkKernel.MaxRows && rows <= SortedRuns.MaxRows
        && trim > TrimmedMeanNetworkKernel.MaxTrim && 2 * trim < rows;

    /// <summary>Thread = column; <paramref name="shares"/>[k] = q of listed row k; <paramref name="trim"/> = floor(alpha x
    /// rows), as the combine kernel takes it.</summary>
    public static void Combine(
        DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, ArrayView<double> shares, CombineSettings settings, int trim,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var runs = SharedMemory.Allocate<float>(SortedRuns.SharedLength);
        var column = Grid.GlobalIndex.X;
        if (column >= matrix.Columns) return;
        var settled = LeadingColumnCells.Serves(settings.LeadingRows, matrix)
            ? TrySettle(column, new LeadingColumnCells(matrix, settings.RowCount, column), runs, shares, settings, trim, aggregate, prior, counts)
            : TrySettle(column, new ColumnCells(matrix, rows, settings.RowCount, column), runs, shares, settings, trim, aggregate, prior, counts);
        if (!settled) CombineKernel.HandOver(column, matrix, rows, weights, settings, aggregate, prior, counts);
    }

    /// <summary>The column by its runs, finished; false where a non-finite cell, or kept terms that cancel, leave it to the walks.</summary>
    private static bool TrySettle<TCells>(
        int column, in TCells cells, ArrayView<float> runs, ArrayView<double> shares, CombineSettings settings, int trim,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
        where TCells : struct, IColumnCells
    {
        var check = 0f;
        var sorted = SortedRuns.Sort(cells, runs, ref check);
        if (float.IsNaN(check)) return false;

        // Dropped: the trim smallest and the trim largest in (value, row) order.
        var n = cells.Count;
        var lastLow = sorted.ValueAt(trim - 1);
        var firstKept = sorted.Successor(lastLow, trim);
        var lastKept = sorted.ValueAt(n - 1 - trim);
        var firstHigh = sorted.Successor(lastKept, n - trim);
        var sum = 0.0;
        var shareSum = 0.0;
        if (lastLow < firstKept && lastKept < firstHigh)
        {
            TrimmedMeanNetworkKernel.AddKeptBetween(cells, shares, lastLow, firstHigh, ref sum, ref shareSum);
        }
        else
        {
            // Equal values straddle a boundary, and their rows decide: the runs count the cells beyond and at each bound.
            var atMostHigh = sorted.CountAtMost(firstHigh);
            var belowHigh = sorted.CountBelow(firstHigh);
            var lowDropped = trim - sorted.CountBelow(lastLow);
            var highDropped = trim - (n - atMostHigh);
            TrimmedMeanNetworkKernel.AddKeptAcrossTies(cells, shares, lastLow, firstHigh, lowDropped, highDropped, atMostHigh - belowHigh,
                ref sum, ref shareSum);
        }
        // Kept terms that cancel far enough for row order to matter: the walks sum them in the reference's order.
        if (CombineKernel.KeptOrderMayMatter(firstKept, lastKept, sum, shareSum, n)) return false;
        CombineKernel.Finish(column, sum / shareSum, false, settings, aggregate, prior, counts);
        return true;
    }
}
