using ILGPU;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>
/// Bitonic sorts of one column in shared memory by the whole thread group (<see cref="BitonicWeightedMedianKernel"/>):
/// log2(P)(log2(P) + 1)/2 steps of P/2 comparators, P a power of two, each thread taking every Group.DimX-th
/// comparator of a step, a barrier between steps. Call from every thread of
/// the group, after <see cref="LoadColumn"/> or <see cref="LoadPairs"/>. Such a kernel is launched with
/// <see cref="Launch"/>: at most <see cref="MaxGroupSize"/> threads a group, fewer where the device allows fewer
/// (ILGPU's CPU accelerator: 16).
/// </summary>
public static class SharedBitonicSort
{
    /// <summary>Most rows served: the shared arrays' length.</summary>
    public const int MaxRows = 256;

    /// <summary>Most threads per group: one per comparator at 256 rows.</summary>
    public const int MaxGroupSize = MaxRows / 2;

    /// <summary>The sorted length for <paramref name="rows"/> rows: the next power of two.</summary>
    public static int SortLength(int rows) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)rows);

    /// <summary>One group per column, as many threads as the sort has comparators per step, the device allows and
    /// <see cref="MaxGroupSize"/> caps.</summary>
    public static KernelConfig Launch(int columns, int rows, int deviceMaxGroupSize) =>
        new(columns, Math.Min(Math.Min(MaxGroupSize, deviceMaxGroupSize), SortLength(rows) / 2));

    /// <summary>Writes the column's <paramref name="count"/> cells of the listed rows to <paramref name="values"/>,
    /// padded with +inf to <paramref name="length"/> (after every finite cell); true, in every thread, when a cell is
    /// not finite (the walks must settle the column). Also the barrier that makes the values visible to the group.</summary>
    internal static bool LoadColumn(DenseMatrix matrix, ArrayView<int> rows, int count, int length, int column, ArrayView<float> values)
    {
        var nonFinite = false;
        for (var i = Group.IdxX; i < length; i += Group.DimX)
        {
            var x = i < count ? matrix.Value(rows[i], column) : float.PositiveInfinity;
            // x - x is NaN for NaN and the infinities; the pads' +inf is not a cell.
            nonFinite |= i < count && float.IsNaN(x - x);
            values[i] = x;
        }
        return Group.BarrierOr(nonFinite);
    }

    /// <summary><see cref="LoadColumn"/>, with each position's listed row in <paramref name="order"/> (the pads' rows
    /// follow the last listed one), ready for <see cref="SortPairs"/>.</summary>
    internal static bool LoadPairs(DenseMatrix matrix, ArrayView<int> rows, int count, int length, int column, ArrayView<float> values, ArrayView<int> order)
    {
        for (var i = Group.IdxX; i < length; i += Group.DimX) order[i] = i;
        return LoadColumn(matrix, rows, count, length, column, values);
    }

    /// <summary>Sorts the pairs (<paramref name="values"/>[i], <paramref name="rows"/>[i]) in (value, row) order, -0 and
    /// +0 equal (<see cref="ColumnOrder.Before"/>).</summary>
    internal static void SortPairs(ArrayView<float> values, ArrayView<int> rows, int length)
    {
        for (var k = 2; k <= length; k <<= 1)
        {
            for (var j = k >> 1; j > 0; j >>= 1)
            {
                for (var i = Group.IdxX; i < length / 2; i += Group.DimX)
                {
                    var low = Low(i, j);
                    var a = values[low];
                    var b = values[low + j];
                    var ra = rows[low];
                    var rb = rows[low + j];
                    var outOfOrder = ColumnOrder.Before(b, rb, a, ra);
                    // Ascending blocks want (a, ra) first; descending ones want it last.
                    var swap = (low & k) == 0 ? outOfOrder : !outOfOrder;
                    if (swap)
                    {
                        values[low] = b;
                        values[low + j] = a;
                        rows[low] = rb;
                        rows[low + j] = ra;
                    }
                }
                Group.Barrier();
            }
        }
    }

    /// <summary>The lower index of the i-th pair of a step whose pairs are <paramref name="j"/> apart (a power of two).</summary>
    private static int Low(int i, int j) => ((i & -j) << 1) | (i & (j - 1));
}
