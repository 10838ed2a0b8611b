using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// Walks one column's taking-part cells in ascending (value, row) order without sorting them: each step finds
/// the smallest pair greater than the previous one. O(n) per step, O(n^2) per column for a full walk, no local
/// memory and no size cap; n (domains) is at most a few hundred, and the columns run in parallel, one per thread.
/// Ties between equal values go to the lower row first (DESIGN §4 step 6); -0 and +0 are equal values.
/// </summary>
/// <remarks>The values must be finite (rows with a non-finite present cell are rejected before any combine).</remarks>
public static class ColumnOrder
{
    /// <summary>
    /// The position k (into <paramref name="rows"/>) of the first cell after (<paramref name="previousValue"/>,
    /// <paramref name="previousK"/>) in (value, row) order, or of the first cell when <paramref name="previousK"/>
    /// is negative; -1 when there is none. Rows are listed ascending, so comparing k compares rows.
    /// </summary>
    public static int Next(
        DenseMatrix matrix, ArrayView<int> rows, int count, int column, int missingAsZero,
        float previousValue, int previousK, out float value)
    {
        var best = -1;
        var bestValue = 0f;
        for (var k = 0; k < count; k++)
        {
            if (!matrix.TryCell(rows[k], column, missingAsZero, out var v)) continue;
            if (previousK >= 0 && !(v > previousValue || (v == previousValue && k > previousK))) continue;
            if (best < 0 || v < bestValue || (v == bestValue && k < best))
            {
                best = k;
                bestValue = v;
            }
        }
        value = bestValue;
        return best;
    }

    /// <summary>
    /// The mirror of <see cref="Next"/>: the position of the last cell before (<paramref name="previousValue"/>,
    /// <paramref name="previousK"/>) in (value, row) order, or of the last cell when <paramref name="previousK"/>
    /// is negative; -1 when there is none.
    /// </summary>
    public static int Previous(
        DenseMatrix matrix, ArrayView<int> rows, int count, int column, int missingAsZero,
        float previousValue, int previousK, out float value)
    {
        var best = -1;
        var bestValue = 0f;
        for (var k = 0; k < count; k++)
        {
            if (!matrix.TryCell(rows[k], column, missingAsZero, out var v)) continue;
            if (previousK >= 0 && !(v < previousValue || (v == previousValue && k < previousK))) continue;
            if (best < 0 || v > bestValue || (v == bestValue && k > best))
            {
                best = k;
                bestValue = v;
            }
        }
        value = bestValue;
        return best;
    }

    /// <summary>Whether (a, ka) comes before (b, kb) in (value, row) order.</summary>
    public static bool Before(float a, int ka, float b, int kb) => a < b || (a == b && ka < kb);

    /// <summary>The cell of rank <paramref name="rank"/> (0-based) in (value, row) order; -1 when there are fewer.</summary>
    public static int AtRank(
        DenseMatrix matrix, ArrayView<int> rows, int count, int column, int missingAsZero, int rank, out float value)
    {
        var k = -1;
        value = 0f;
        for (var r = 0; r <= rank; r++)
        {
            k = Next(matrix, rows, count, column, missingAsZero, value, k, out value);
            if (k < 0) return -1;
        }
        return k;
    }

    /// <summary>The unweighted median of a column's <paramref name="present"/> taking-part cells (even count:
    /// the mean of the two middle ones, in float64); NaN when there are none.</summary>
    public static double Median(DenseMatrix matrix, ArrayView<int> rows, int count, int column, int missingAsZero, int present)
    {
        if (present == 0) return double.NaN;
        var lowK = AtRank(matrix, rows, count, column, missingAsZero, (present - 1) / 2, out var low);
        if (present % 2 == 1) return low;
        Next(matrix, rows, count, column, missingAsZero, low, lowK, out var high);
        return ((double)low + high) / 2.0;
    }
}
