using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The trimmed mean (and the fused Reptile step) of a batch without a mask, 65..256 rows and a trim beyond
/// <see cref="TrimmedMeanNetworkKernel"/>'s lists (32 or more a side: trim_alpha from 0.125 at 256 rows, 0.25 at
/// 128): the group sorts the column's (value, row) pairs in shared memory (<see cref="SharedBitonicSort.SortPairs"/>),
/// sets each kept row's cell aside by row, and its first thread sums q x over the rows ranked trim..n-trim-1, in row order. The walks
/// it replaces (<see cref="CombineKernel"/>) read the column 2 trim times.
/// </summary>
/// <remarks>
/// Same value as the walks, bit for bit: the kept rows are the walks' ((value, row) order decides ties at a trim
/// boundary), summed in the same (row) order with the same q (<c>shares</c>, from the host, as for the network
/// kernel). A column with a cell that is not finite goes the walks' way. Launched with
/// <see cref="SharedBitonicSort.Launch"/>.
/// </remarks>
public static class BitonicTrimmedMeanKernel
{
    /// <summary>Whether this kernel serves a trimmed mean over <paramref name="rows"/> rows trimming
    /// <paramref name="trim"/> from each end (those the network kernel does not).</summary>
    public static bool Serves(int rows, int trim, bool hasMask) =>
        !hasMask && rows > MedianNetworkKernel.MaxRows && rows <= SharedBitonicSort.MaxRows
        && trim > TrimmedMeanNetworkKernel.MaxTrim && 2 * trim < rows;

    /// <summary>Group = column; <paramref name="shares"/>[k] = q of listed row k; <paramref name="trim"/> = floor(alpha x
    /// rows); <paramref name="length"/> = <see cref="SharedBitonicSort.SortLength"/> of the row count.</summary>
    public static void Combine(
        DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, ArrayView<double> shares, CombineSettings settings, int trim, int length,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var column = Grid.IdxX;
        var count = settings.RowCount;
        var values = SharedMemory.Allocate<float>(SharedBitonicSort.MaxRows);
        var order = SharedMemory.Allocate<int>(SharedBitonicSort.MaxRows);
        // Each row's cell where the trim keeps it, NaN where it drops it (never a kept cell: a column with a
        // non-finite cell goes the walks' way).
        var kept = SharedMemory.Allocate<float>(SharedBitonicSort.MaxRows);
        var walks = SharedBitonicSort.LoadPairs(matrix, rows, count, length, column, values, order);
        if (!walks)
        {
            SharedBitonicSort.SortPairs(values, order, length);
            for (var i = Group.IdxX; i < length; i += Group.DimX)
                kept[order[i]] = i >= trim && i < count - trim ? values[i] : float.NaN;
            Group.Barrier();
        }
        if (!Group.IsFirstThread) return;
        if (walks)
        {
            CombineKernel.HandOver(column, matrix, rows, weights, settings, aggregate, prior, counts);
            return;
        }
        var sum = 0.0;
        var shareSum = 0.0;
        for (var k = 0; k < count; k++)
        {
            var x = kept[k];
            if (float.IsNaN(x)) continue;
            var q = shares[k];
            sum += q * x;
            shareSum += q;
        }
        CombineKernel.Finish(column, sum / shareSum, false, settings, aggregate, prior, counts);
    }
}
