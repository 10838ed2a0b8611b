using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The column median of a batch without a mask by the sorting networks of <see cref="TrimmedMeanNetworkKernel"/>,
/// one thread per column: up to 64 rows, both middle ranks lie among the 32 smallest or the 32 largest values
/// (<see cref="ExtremeListNetwork"/>), so one read of the column finds them, where <see cref="ColumnOrder"/> walks
/// the column once per rank up to the middle. Two entry points: the combine's median (with the fused Reptile step)
/// and the outlier pass's column medians (DESIGN §4 step 3).
/// </summary>
/// <remarks>
/// Same value as the walks, bit for bit: the middle values are the same floats, and the mean of two is taken as
/// <see cref="ColumnOrder.Median"/> takes it. The lists hold values without rows, which decides nothing here
/// (equal values are the same float) except for zeros: -0 and +0 are equal in the walks' (value, row) order, so
/// which one a walk returns depends on the rows. A column whose middle value is a zero takes one more read to find
/// that zero (<see cref="ZeroRank"/>: a weight nobody trains is such a column); one with a cell that is not finite
/// goes the walks' way.
/// </remarks>
public static class MedianNetworkKernel
{
    /// <summary>Most rows served: both middle ranks within 32 of an end.</summary>
    public const int MaxRows = 2 * TrimmedMeanNetworkKernel.ListLength;

    /// <summary>Whether this kernel serves a median over <paramref name="rows"/> rows.</summary>
    public static bool Serves(int rows, bool hasMask) => !hasMask && rows is > 1 and <= MaxRows;

    /// <summary>The combine's median (<see cref="CombineSettings.Median"/>) and the Reptile step. Index = column.</summary>
    public static void Combine(
        Index1D column, DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, CombineSettings settings,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        double median;
        var settled = LeadingColumnCells.Serves(settings.LeadingRows, matrix)
            ? TryMedian(new LeadingColumnCells(matrix, settings.RowCount, column), out median)
            : TryMedian(new ColumnCells(matrix, rows, settings.RowCount, column), out median);
        if (settled)
        {
            CombineKernel.Finish(column, median, false, settings, aggregate, prior, counts);
            return;
        }
        CombineKernel.HandOver(column, matrix, rows, weights, settings, aggregate, prior, counts);
    }

    /// <summary>m_d of the outlier pass over <paramref name="count"/> listed rows. Index = column.
    /// <paramref name="leadingRows"/>: 1 where the list is rows 0..count - 1 (<see cref="CombineSettings.LeadingRows"/>).</summary>
    public static void Medians(Index1D column, DenseMatrix matrix, ArrayView<int> rows, int count, int leadingRows, ArrayView<double> medians)
    {
        double median;
        var settled = LeadingColumnCells.Serves(leadingRows, matrix)
            ? TryMedian(new LeadingColumnCells(matrix, count, column), out median)
            : TryMedian(new ColumnCells(matrix, rows, count, column), out median);
        if (settled)
        {
            medians[column] = median;
            return;
        }
        ColumnMedianKernel.Run(column, matrix, rows, count, 0, medians);
    }

    /// <summary>The median of the column's 2..64 cells; false for a column the walks must settle.</summary>
    private static bool TryMedian<TCells>(in TCells cells, out double median)
        where TCells : struct, IColumnCells
    {
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
        median = double.NaN;
        if (float.IsNaN(check)) return false;

        // Up to 64 rows the lower middle rank (n - 1) / 2 is at most 31: the low list holds it. The upper one, n / 2,
        // is there too below 32; at 64 rows it is rank 32, the least of the 32 largest (h0).
        var n = cells.Count;
        var lowValue = ExtremeListNetwork.At((n - 1) / 2, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15,
            l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27, l28, l29, l30, l31);
        var high = n / 2;
        var highValue = high < TrimmedMeanNetworkKernel.ListLength
            ? ExtremeListNetwork.At(high, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15,
                l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27, l28, l29, l30, l31)
            : h0;
        if (lowValue == 0f || highValue == 0f)
        {
            // Which zero sits at a middle rank is the rows' choice: the cells below zero (all in the low list, as
            // neither rank passes 32) say how many zeros come first.
            var below = ExtremeListNetwork.CountBelow(0f, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15,
                l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27, l28, l29, l30, l31);
            if (lowValue == 0f) lowValue = ZeroRank.At(cells, (n - 1) / 2 - below);
            if (highValue == 0f) highValue = ZeroRank.At(cells, high - below);
        }
        median = n % 2 == 1 ? lowValue : ((double)lowValue + highValue) / 2.0;
        return true;
    }
}
