using ILGPU;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The combine's weighted median (with the fused Reptile step) of a batch without a mask and with 65..256 rows
/// (beyond <see cref="WeightedMedianNetworkKernel"/>'s registers): the group sorts the column's (value, row) pairs in
/// shared memory (<see cref="SharedBitonicSort.SortPairs"/>), then its first thread walks the half mass once over
/// them, where <see cref="CombineKernel"/> walks the column once per rank.
/// </summary>
/// <remarks>
/// Same value as the walks, bit for bit, for the network kernel's reasons: the walks' (value, row) order, S and the
/// running sums adding the same q (<c>shares</c>, from the host) in that order. A column with a cell that is not
/// finite goes the walks' way. Launched with <see cref="SharedBitonicSort.Launch"/>.
/// </remarks>
public static class BitonicWeightedMedianKernel
{
    /// <summary>Whether this kernel serves a weighted median over <paramref name="rows"/> rows (those the network kernel
    /// does not).</summary>
    public static bool Serves(int rows, bool hasMask) =>
        !hasMask && rows > WeightedMedianNetworkKernel.MaxRows && rows <= SharedBitonicSort.MaxRows;

    /// <summary>Group = column; <paramref name="shares"/>[k] = q of listed row k; <paramref name="length"/> =
    /// <see cref="SharedBitonicSort.SortLength"/> of the row count.</summary>
    public static void Combine(
        DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, ArrayView<double> shares, CombineSettings settings, int length,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var column = Grid.IdxX;
        var count = settings.RowCount;
        var values = SharedMemory.Allocate<float>(SharedBitonicSort.MaxRows);
        var order = SharedMemory.Allocate<int>(SharedBitonicSort.MaxRows);
        var walks = SharedBitonicSort.LoadPairs(matrix, rows, count, length, column, values, order);
        if (!walks) SharedBitonicSort.SortPairs(values, order, length);
        if (!Group.IsFirstThread) return;
        if (walks)
        {
            CombineKernel.HandOver(column, matrix, rows, weights, settings, aggregate, prior, counts);
            return;
        }
        CombineKernel.Finish(column, HalfMass(values, order, shares, count), false, settings, aggregate, prior, counts);
    }

    /// <summary>The walk of <see cref="CombineKernel"/>'s weighted median over the sorted pairs: S in (value, row)
    /// order, the first cell whose running sum reaches S/2 - eps, the mean with the next when within eps of S/2.</summary>
    private static double HalfMass(ArrayView<float> values, ArrayView<int> order, ArrayView<double> shares, int count)
    {
        var total = 0.0;
        for (var i = 0; i < count; i++) total += shares[order[i]];
        var half = total / 2.0;
        var eps = 1e-12 * total;
        var running = 0.0;
        var at = count - 1;
        // Bounded by the cell count: the running sum reaches S/2 - eps at the latest at the last cell.
        for (var i = 0; i < count; i++)
        {
            running += shares[order[i]];
            if (running >= half - eps)
            {
                at = i;
                break;
            }
        }
        var gap = running - half;
        if (gap < 0) gap = -gap;
        if (gap <= eps && at + 1 < count) return ((double)values[at] + values[at + 1]) / 2.0;
        return values[at];
    }
}
