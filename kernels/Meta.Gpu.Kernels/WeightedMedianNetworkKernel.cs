using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The combine's weighted median (with the fused Reptile step) of a batch without a mask by sorting networks, one
/// thread per column: the column's up to 64 (value, row) pairs are sorted in registers
/// (<see cref="WeightedMedianNetwork"/>) and the half-mass walk runs over them once, where
/// <see cref="CombineKernel"/> walks the column once per rank (O(n^2) reads a column).
/// </summary>
/// <remarks>
/// Same value as the walks, bit for bit: the pairs are sorted in the walks' (value, row) order, S and the running
/// sums add the same q in that order, and q = p_k / (p summed in row order) comes from the host as for the other dense
/// kernels (<c>shares</c>). A column with a cell that is not finite goes the walks' way.
/// </remarks>
public static class WeightedMedianNetworkKernel
{
    /// <summary>Most rows served: 64 pairs are 128 registers.</summary>
    public const int MaxRows = 64;

    /// <summary>Whether this kernel serves a weighted median over <paramref name="rows"/> rows.</summary>
    public static bool Serves(int rows, bool hasMask) => !hasMask && rows is > 1 and <= MaxRows;

    /// <summary>Index = column. <paramref name="shares"/>[k] = q of listed row k.</summary>
    public static void Combine(
        Index1D column, DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, ArrayView<double> shares, CombineSettings settings,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var cells = new ColumnCells(matrix, rows, settings.RowCount, column);
        // Uniform across the launch: every thread takes the same network.
        var sorted = settings.RowCount <= 32
            ? WeightedMedianNetwork.TryWeightedMedian32(cells, shares, out var median)
            : WeightedMedianNetwork.TryWeightedMedian64(cells, shares, out median);
        if (sorted)
        {
            CombineKernel.Finish(column, median, false, settings, aggregate, prior, counts);
            return;
        }
        CombineKernel.HandOver(column, matrix, rows, weights, settings, aggregate, prior, counts);
    }
}
