using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The trimmed mean (and the fused Reptile step) of a batch without a mask that reads each cell once: a group of
/// <see cref="PreferredGroupSize"/> threads takes as many columns, one per thread, and keeps the column's
/// cells in shared memory. Rows arrive in groups of 32, are sorted in registers by a network and merged into two
/// running lists, the 32 smallest and the 32 largest values (<see cref="TileSortNetwork"/>). The k-th smallest
/// and k-th largest value bound the kept cells; one pass over the shared tile then sums q x over them in row
/// order.
/// </summary>
/// <remarks>
/// <para>Same value as <see cref="CombineKernel"/>, bit for bit: it keeps the same cells, sums them in the same
/// (row) order and takes the same weight shares, which the host computes as the combine kernel does
/// (q_k = p_k / the row-order sum of p). The lists hold values without rows, so a column where the value at a
/// trim boundary equals its neighbour across it (a tie that (value, row) order must settle), or where a cell is
/// not finite, goes the combine kernel's exact way instead; that column costs what it costs there.</para>
/// <para>Serves rows 2..<see cref="MaxRows"/> and trims 1..<see cref="MaxTrim"/> (the lists are 32 long and
/// must hold the trim and the first kept value); the host sends anything else to <see cref="CombineKernel"/>.</para>
/// </remarks>
public static class TrimmedMeanTileKernel
{
    /// <summary>Columns (threads) per group on a GPU: one warp. A device with smaller groups (ILGPU's CPU
    /// accelerator: 16) takes its largest.</summary>
    public const int PreferredGroupSize = 32;

    /// <summary>Most participating rows: the tile is rows x group size floats of shared memory (32 KB for a warp).</summary>
    public const int MaxRows = 256;

    /// <summary>Rows per sorted group, and the length of the two lists.</summary>
    public const int ListLength = 32;

    /// <summary>Largest trim the 32-long lists serve.</summary>
    public const int MaxTrim = ListLength - 1;

    /// <summary>Whether this kernel serves a combine of <paramref name="rows"/> rows trimming <paramref name="trim"/>
    /// from each end.</summary>
    public static bool Serves(int rows, int trim, bool hasMask) => !hasMask && rows is > 1 and <= MaxRows && trim is >= 1 and <= MaxTrim;

    /// <summary>The group size on a device whose groups hold at most <paramref name="maxGroupSize"/> threads.</summary>
    public static int GroupSize(int maxGroupSize) => Math.Min(PreferredGroupSize, maxGroupSize);

    /// <summary>Shared floats per group of <paramref name="groupSize"/> for <paramref name="rows"/> rows.</summary>
    public static int TileFloats(int rows, int groupSize) => rows * groupSize;

    /// <summary>
    /// Grid: one group per <see cref="GroupSize"/> columns; dynamic shared memory <see cref="TileFloats"/>.
    /// <paramref name="shares"/>[k] = q of listed row k; <paramref name="trim"/> = floor(alpha x rows), as the
    /// combine kernel takes it.
    /// </summary>
    public static void Run(
        DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, ArrayView<double> shares, CombineSettings settings, int trim,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var lane = Group.IdxX;
        var width = Group.DimX;
        var column = Grid.IdxX * width + lane;
        if (column >= matrix.Columns) return;
        var n = settings.RowCount;
        var cells = new TileColumn(matrix, rows, n, column, SharedMemory.GetDynamic<float>(), width, lane);

        float l0 = float.PositiveInfinity, l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0, l8 = l0, l9 = l0,
            l10 = l0, l11 = l0, l12 = l0, l13 = l0, l14 = l0, l15 = l0, l16 = l0, l17 = l0, l18 = l0, l19 = l0, l20 = l0,
            l21 = l0, l22 = l0, l23 = l0, l24 = l0, l25 = l0, l26 = l0, l27 = l0, l28 = l0, l29 = l0, l30 = l0, l31 = l0;
        float h0 = float.NegativeInfinity, h1 = h0, h2 = h0, h3 = h0, h4 = h0, h5 = h0, h6 = h0, h7 = h0, h8 = h0, h9 = h0,
            h10 = h0, h11 = h0, h12 = h0, h13 = h0, h14 = h0, h15 = h0, h16 = h0, h17 = h0, h18 = h0, h19 = h0, h20 = h0,
            h21 = h0, h22 = h0, h23 = h0, h24 = h0, h25 = h0, h26 = h0, h27 = h0, h28 = h0, h29 = h0, h30 = h0, h31 = h0;
        var check = 0f;
        TileSortNetwork.SelectExtremes(cells, ref check,
            ref l0, ref l1, ref l2, ref l3, ref l4, ref l5, ref l6, ref l7, ref l8, ref l9, ref l10, ref l11, ref l12, ref l13, ref l14, ref l15,
            ref l16, ref l17, ref l18, ref l19, ref l20, ref l21, ref l22, ref l23, ref l24, ref l25, ref l26, ref l27, ref l28, ref l29, ref l30, ref l31,
            ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7, ref h8, ref h9, ref h10, ref h11, ref h12, ref h13, ref h14, ref h15,
            ref h16, ref h17, ref h18, ref h19, ref h20, ref h21, ref h22, ref h23, ref h24, ref h25, ref h26, ref h27, ref h28, ref h29, ref h30, ref h31);

        if (!float.IsNaN(check))
        {
            // Dropped: the trim smallest and the trim largest. The last dropped value must be below the first kept
            // one at both ends; otherwise equal values straddle a boundary and their rows decide.
            var lastLow = TileSortNetwork.At(trim - 1, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15,
                l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27, l28, l29, l30, l31);
            var firstKept = TileSortNetwork.At(trim, l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15,
                l16, l17, l18, l19, l20, l21, l22, l23, l24, l25, l26, l27, l28, l29, l30, l31);
            var firstHigh = TileSortNetwork.At(ListLength - trim, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15,
                h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28, h29, h30, h31);
            var lastKept = TileSortNetwork.At(ListLength - 1 - trim, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15,
                h16, h17, h18, h19, h20, h21, h22, h23, h24, h25, h26, h27, h28, h29, h30, h31);
            if (lastLow < firstKept && lastKept < firstHigh)
            {
                var sum = 0.0;
                var shareSum = 0.0;
                for (var k = 0; k < n; k++)
                {
                    var x = cells.Cell(k);
                    if (!(x > lastLow) || !(x < firstHigh)) continue;
                    var q = shares[k];
                    sum += q * x;
                    shareSum += q;
                }
                CombineKernel.Finish(column, sum / shareSum, false, settings, aggregate, prior, counts);
                return;
            }
        }
        var value = CombineKernel.Combine(matrix, rows, weights, settings, column, out var exactNonFinite);
        CombineKernel.Finish(column, value, exactNonFinite, settings, aggregate, prior, counts);
    }
}
