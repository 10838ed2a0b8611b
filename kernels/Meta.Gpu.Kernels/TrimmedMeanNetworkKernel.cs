using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The trimmed mean (and the fused Reptile step) of a batch without a mask by sorting networks, one thread per
/// column: rows arrive in groups of 32, are sorted in registers and merged into two running lists, the 32 smallest
/// and the 32 largest values (<see cref="ExtremeListNetwork"/>). The k-th smallest and k-th largest value bound the
/// kept cells; a second pass over the column sums q x over them in row order. Where <see cref="CombineKernel"/>
/// walks the column 2k times to find the bounds, this reads it once for them.
/// </summary>
/// <remarks>
/// <para>Same value as <see cref="CombineKernel"/>, bit for bit: it keeps the same cells, sums them in the same
/// (row) order and takes the same weight shares, which the host computes as the combine kernel does
/// (q_k = p_k / the row-order sum of p). The lists hold values without rows; where equal values straddle a trim
/// boundary, the lists still say how many cells lie beyond each bound, and a slower pass keeps the equal cells
/// (value, row) order would keep (<c>AddKeptAcrossTies</c>). Only a column with a non-finite cell goes the combine
/// kernel's exact way. The walks cost a thread 2 x trim passes over its column, and one such thread holds its block,
/// which holds a whole multiprocessor at this kernel's register count: on an H200 at 256 x 4M (random float32 data,
/// where about one column in 30,000 ties at a bound) the multiprocessors were idle for 36 % of the kernel's time,
/// 2.5 % once this kernel settled the ties itself (Nsight Compute's active against elapsed cycles).</para>
/// <para>With the batch's leading rows (<see cref="CombineSettings.LeadingRows"/>) a cell's address is one multiply-add
/// (<see cref="LeadingColumnCells"/>); otherwise each read looks its row up (<see cref="ColumnCells"/>).</para>
/// <para>The second pass reads the column again (from L2 where it is still there). An earlier version kept the
/// column in shared memory instead: at 256 rows that is 1 KB a column, which left room for 6 warps on an H100's
/// multiprocessor, and Nsight Compute showed the schedulers idle three cycles in four for want of warps.</para>
/// <para>Serves rows 2..<see cref="MaxRows"/> and trims 1..<see cref="MaxTrim"/> (the lists are 32 long and
/// must hold the trim and the first kept value); the host sends anything else to <see cref="CombineKernel"/>.</para>
/// </remarks>
public static class TrimmedMeanNetworkKernel
{
    /// <summary>Rows per sorted group, and the length of the two lists.</summary>
    public const int ListLength = 32;

    /// <summary>Largest trim the 32-long lists serve.</summary>
    public const int MaxTrim = ListLength - 1;

    /// <summary>Most participating rows: beyond a few hundred the combine kernel's walks would be no slower than
    /// the merges, and the bound keeps the kernel's loops short.</summary>
    public const int MaxRows = 256;

    /// <summary>Whether this kernel serves a combine of <paramref name="rows"/> rows trimming <paramref name="trim"/>
    /// from each end.</summary>
    public static bool Serves(int rows, int trim, bool hasMask) => !hasMask && rows is > 1 and <= MaxRows && trim is >= 1 and <= MaxTrim;

    /// <summary>
    /// Index = column. <paramref name="shares"/>[k] = q of listed row k; <paramref name="trim"/> = floor(alpha x
    /// rows), as the combine kernel takes it.
    /// </summary>
    public static void Run(
        Index1D column, DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, ArrayView<double> shares, CombineSettings settings, int trim,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        // One branch for the whole column (the same way for every thread of a launch): the two bodies differ only in
        // how a cell's address is found. The walks are called once, outside both.
        var settled = LeadingColumnCells.Serves(settings.LeadingRows, matrix)
            ? TrySettle(column, new LeadingColumnCells(matrix, settings.RowCount, column), shares, settings, trim, aggregate, prior, counts)
            : TrySettle(column, new ColumnCells(matrix, rows, settings.RowCount, column), shares, settings, trim, aggregate, prior, counts);
        if (!settled) CombineKernel.HandOver(column, matrix, rows, weights, settings, aggregate, prior, counts);
    }

    /// <summary>The column by the lists, finished; false where a non-finite cell, or kept terms that cancel, leave it to the walks.</summary>
    private static bool TrySettle<TCells>(
        Index1D column, in TCells cells, ArrayView<double> shares, CombineSettings settings, int trim,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
        where TCells : struct, IColumnCells
    {
        var n = cells.Count;
        float l0 = float.PositiveInfinity, l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0, l8 = l0, l9 = l0,
            l10 = l0, l11 = l0, l12 = l0, l13 = l0, l14 = l0, l15 = l0, l16 = l0, l17 = l0, l18 = l0, l19 = l0, l20 = l0,
            l21 = l0, l22 = l0, l23 = l0, l24 = l0, l25 = l0, l26 = l0, l27 = l0, l28 = l0, l29 = l0, l30 = l0, l31 = l0;
        float h0 = float.NegativeInfinity, h1 = h0, h2 = h0, h3 = h0, h4 = h0, h5 = h0, h6 = h0, h7 = h0, h8 = h0, h9 = h0,
            h10 = h0, h11 = h0, h12 = h0, h13 = h0, h14 = h0, h15 = h0, h16 = h0, h17 = h0, h18 = h0, h19 = h0, h20 = h0,
            h21 = h0, h22 = h0, h23 = h0, h24 = h0, h25 = h0, h26 = h0, h27 = h0, h28 = h0, h29 = h0, h30 = h0, h31 = h0;
        var check = 0f;
        ExtremeListNetwork.SelectExtremes(cells, ref check,
            ref l0, ref l1, ref l2, ref l3, ref l4, ref l5, ref l6, ref l7, ref l8, ref l9, ref l10, ref l11, ref l12, ref l13, ref l14, ref l15,
            ref l16, ref l17, ref l18, ref l19, ref l20, ref l21, ref l22, ref l23, ref l24, ref l25, ref l26, ref l27, ref l28, ref l29, ref l30, ref l31,
            ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7, ref h8, ref h9, ref h10, ref h11, ref h12, ref h13, ref h14, ref h15,
            ref h16, ref h17, ref h18, ref h19, ref h20, ref h21, ref h22, ref h23, ref h24, ref h25, ref h26, ref h27, ref h28, ref h29, ref h30, ref h31);

        if (float.IsNaN(check)) return false;

        // Dropped: the trim smallest and the trim largest in (value, row) order. lastLow is the value of the last
        // dropped at the bottom, firstHigh the value of the last dropped at the top.
        var lastLow = ExtremeListNetwork.At(trim - 1, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15,
            l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27, l28, l29, l30, l31);
        var firstKept = ExtremeListNetwork.At(trim, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15,
            l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27, l28, l29, l30, l31);
        var firstHigh = ExtremeListNetwork.At(ListLength - trim, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15,
            h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28, h29, h30, h31);
        var lastKept = ExtremeListNetwork.At(ListLength - 1 - trim, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15,
            h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28, h29, h30, h31);
        var sum = 0.0;
        var shareSum = 0.0;
        if (lastLow < firstKept && lastKept < firstHigh)
        {
            AddKeptBetween(cells, shares, lastLow, firstHigh, ref sum, ref shareSum);
        }
        else
        {
            // Equal values straddle a boundary, and their rows decide. The cells below lastLow all lie in the low list
            // (fewer than trim of them) and those above firstHigh in the high list, so the lists say how many of the
            // cells equal to each bound are dropped: the first ones in row order at the bottom, the last ones at the top.
            var lowDropped = trim - ExtremeListNetwork.CountBelow(lastLow, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15,
                l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27, l28, l29, l30, l31);
            var highDropped = trim - ExtremeListNetwork.CountAbove(firstHigh, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15,
                h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28, h29, h30, h31);
            // Least equal to greatest: every cell is one value (a weight no domain changed), all of them at the top bound.
            var atHigh = l0 == h31 ? n : -1;
            AddKeptAcrossTies(cells, shares, lastLow, firstHigh, lowDropped, highDropped, atHigh, ref sum, ref shareSum);
        }
        // Kept terms that cancel far enough for row order to matter: the walks sum them in the reference's order.
        if (CombineKernel.KeptOrderMayMatter(firstKept, lastKept, sum, shareSum, n)) return false;
        CombineKernel.Finish(column, sum / shareSum, false, settings, aggregate, prior, counts);
        return true;
    }

    /// <summary>The kept sums of a column where no value straddles a trim boundary: the cells strictly between the
    /// last dropped at the bottom and the first dropped at the top, in row order, 32 loads issued at a time.</summary>
    internal static void AddKeptBetween<TCells>(in TCells cells, ArrayView<double> shares, float lastLow, float firstHigh,
        ref double sum, ref double shareSum)
        where TCells : struct, IColumnCells
    {
        var n = cells.Count;
        var k = 0;
        for (; k + ListLength <= n; k += ListLength)
            ExtremeListNetwork.AddKept(cells, k, shares, lastLow, firstHigh, ref sum, ref shareSum);
        for (; k < n; k++) ExtremeListNetwork.AddKept(ref sum, ref shareSum, shares[k], cells.Read(k), lastLow, firstHigh);
    }

    /// <summary>
    /// The kept sums of a column whose bounds are tied: a cell equal to <paramref name="lastLow"/> is kept once the
    /// first <paramref name="lowDropped"/> such cells (row order) have gone; one equal to <paramref name="firstHigh"/>
    /// while fewer than (their count - <paramref name="highDropped"/>) such cells have come before it. Both rules apply
    /// when the bounds are equal. One more pass counts the cells at the top bound (a run of equal values can be longer
    /// than a list), unless <paramref name="atHigh"/> (-1: not known) says; a column of one value (a weight nobody
    /// trains) knows it is all of them. Such a column costs one or two extra reads, where the exact walks cost
    /// 2 x trim.
    /// </summary>
    internal static void AddKeptAcrossTies<TCells>(
        in TCells cells, ArrayView<double> shares, float lastLow, float firstHigh, int lowDropped, int highDropped, int atHigh,
        ref double sum, ref double shareSum)
        where TCells : struct, IColumnCells
    {
        var n = cells.Count;
        if (atHigh < 0)
        {
            atHigh = 0;
            for (var k = 0; k < n; k++) atHigh += cells.Read(k) == firstHigh ? 1 : 0;
        }
        var highKept = atHigh - highDropped;
        var lowSeen = 0;
        var highSeen = 0;
        for (var k = 0; k < n; k++)
        {
            var x = cells.Read(k);
            var isLow = x == lastLow;
            var isHigh = x == firstHigh;
            var kept = (x > lastLow || (isLow && lowSeen >= lowDropped)) && (x < firstHigh || (isHigh && highSeen < highKept));
            lowSeen += isLow ? 1 : 0;
            highSeen += isHigh ? 1 : 0;
            ExtremeListNetwork.AddIfKept(ref sum, ref shareSum, shares[k], x, kept);
        }
    }
}
