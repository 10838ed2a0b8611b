using ILGPU;
using ILGPU.Algorithms;

namespace Meta.Gpu.Kernels;

/// <summary>
/// Bitonic sorts of a tile of <see cref="Columns"/> adjacent columns in shared memory by the whole thread group
/// (<see cref="BitonicMedianKernel"/>, <see cref="BitonicWeightedMedianKernel"/>, <see cref="BitonicTrimmedMeanKernel"/>):
/// log2(P)(log2(P) + 1)/2 steps of P/2 comparators per column, P a power of two, each thread taking every
/// Group.DimX-th comparator of a step across the tile, a barrier between steps. Call from every thread of the group,
/// after <see cref="LoadTile"/> or <see cref="LoadPairTile"/>. Column j of the tile (grid column
/// <see cref="FirstColumn"/> + j) lies at [j <see cref="ColumnStride"/>, j <see cref="ColumnStride"/> + P).
/// </summary>
/// <remarks>
/// A tile because a group per column read each cell as its own 32-byte sector (the rows of one column are a
/// stride apart), eight times the bytes the column holds; eight float32 columns are one sector per row, read
/// whole. It also pays each barrier once for eight columns.
/// </remarks>
internal static class SharedBitonicSort
{
    /// <summary>Columns per tile: one 32-byte sector of float32 per row.</summary>
    public const int Columns = 8;

    /// <summary>Shared cells between the starts of two columns of a tile: odd, so that the eight cells of one
    /// position fall in eight banks.</summary>
    public const int ColumnStride = BitonicMedianKernel.MaxRows + 1;

    /// <summary>Shared cells of a tile.</summary>
    public const int TileLength = Columns * ColumnStride;

    /// <summary>The grid column of the tile's column 0.</summary>
    public static int FirstColumn => Grid.IdxX * Columns;

    /// <summary>Writes the tile's columns' <paramref name="count"/> cells of the listed rows to <paramref name="values"/>,
    /// each padded with +inf to <paramref name="length"/> (after every finite cell; a column past the matrix is all
    /// pads), and sets <paramref name="nonFinite"/>[j] to 1 where column j has a cell that is not finite (the walks
    /// must settle it), else 0. Ends with the barrier that makes both visible to the group.</summary>
    public static void LoadTile(DenseMatrix matrix, ArrayView<int> rows, int count, int length, ArrayView<float> values, ArrayView<int> nonFinite)
    {
        var first = FirstColumn;
        for (var j = Group.IdxX; j < Columns; j += Group.DimX) nonFinite[j] = 0;
        Group.Barrier();
        // Consecutive threads take consecutive columns of one row: one sector a row.
        for (var t = Group.IdxX; t < Columns * length; t += Group.DimX)
        {
            var i = t / Columns;
            var j = t % Columns;
            var column = first + j;
            var cell = i < count && column < matrix.Columns;
            var x = cell ? matrix.Value(rows[i], column) : float.PositiveInfinity;
            // x - x is NaN for NaN and the infinities; the pads' +inf is not a cell. Every writer writes 1.
            if (cell && float.IsNaN(x - x)) nonFinite[j] = 1;
            values[j * ColumnStride + i] = x;
        }
        Group.Barrier();
    }

    /// <summary><see cref="LoadTile"/>, with each position's listed row in <paramref name="order"/> (the pads' rows
    /// follow the last listed one), ready for <see cref="SortPairs"/>.</summary>
    public static void LoadPairTile(DenseMatrix matrix, ArrayView<int> rows, int count, int length, ArrayView<float> values, ArrayView<int> order,
        ArrayView<int> nonFinite)
    {
        for (var t = Group.IdxX; t < Columns * length; t += Group.DimX) order[t % Columns * ColumnStride + t / Columns] = t / Columns;
        LoadTile(matrix, rows, count, length, values, nonFinite);
    }

    /// <summary>Sorts each column of the tile, positions [0, <paramref name="length"/>), ascending.</summary>
    public static void Sort(ArrayView<float> values, int length)
    {
        var pairs = Columns * (length / 2);
        for (var k = 2; k <= length; k <<= 1)
        {
            for (var j = k >> 1; j > 0; j >>= 1)
            {
                for (var t = Group.IdxX; t < pairs; t += Group.DimX)
                {
                    var low = Low(t / Columns, j);
                    var at = t % Columns * ColumnStride + low;
                    var a = values[at];
                    var b = values[at + j];
                    var min = XMath.Min(a, b);
                    var max = XMath.Max(a, b);
                    var ascending = (low & k) == 0;
                    values[at] = ascending ? min : max;
                    values[at + j] = ascending ? max : min;
                }
                Group.Barrier();
            }
        }
    }

    /// <summary>Sorts each column's pairs (<paramref name="values"/>[i], <paramref name="rows"/>[i]) in (value, row)
    /// order, -0 and +0 equal (<see cref="ColumnOrder.Before"/>).</summary>
    public static void SortPairs(ArrayView<float> values, ArrayView<int> rows, int length)
    {
        var pairs = Columns * (length / 2);
        for (var k = 2; k <= length; k <<= 1)
        {
            for (var j = k >> 1; j > 0; j >>= 1)
            {
                for (var t = Group.IdxX; t < pairs; t += Group.DimX)
                {
                    var low = Low(t / Columns, j);
                    var at = t % Columns * ColumnStride + low;
                    var a = values[at];
                    var b = values[at + j];
                    var ra = rows[at];
                    var rb = rows[at + j];
                    var outOfOrder = ColumnOrder.Before(b, rb, a, ra);
                    // Ascending blocks want (a, ra) first; descending ones want it last.
                    var swap = (low & k) == 0 ? outOfOrder : !outOfOrder;
                    if (swap)
                    {
                        values[at] = b;
                        values[at + j] = a;
                        rows[at] = rb;
                        rows[at + j] = ra;
                    }
                }
                Group.Barrier();
            }
        }
    }

    /// <summary>Column <paramref name="j"/> of a tile array.</summary>
    public static ArrayView<T> Column<T>(ArrayView<T> tile, int j) where T : unmanaged => tile.SubView(j * ColumnStride, ColumnStride);

    /// <summary>The lower index of the i-th pair of a step whose pairs are <paramref name="j"/> apart (a power of two).</summary>
    private static int Low(int i, int j) => ((i & -j) << 1) | (i & (j - 1));
}
