using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// DESIGN §4 step 1 over the matrix: per row, the number of present cells and whether any present cell is
/// non-finite (absent cells are never checked). Two launches: thread (row, segment) walks the columns
/// segment, segment + segments, ... of its row — neighbouring threads read neighbouring columns, so reads
/// coalesce — and writes a partial; then one thread per row adds its row's partials in segment order.
/// </summary>
public static class RowScanKernels
{
    /// <summary>Index = row * segments + segment.</summary>
    public static void Partials(Index1D index, DenseMatrix matrix, int segments, ArrayView<int> partialCounts, ArrayView<int> partialNonFinite)
    {
        var row = index / segments;
        var segment = index - row * segments;
        var count = 0;
        var nonFinite = 0;
        for (var column = segment; column < matrix.Columns; column += segments)
        {
            if (!matrix.TryCell(row, column, 0, out var value)) continue;
            count++;
            if (float.IsNaN(value) || float.IsInfinity(value)) nonFinite = 1;
        }
        partialCounts[index] = count;
        partialNonFinite[index] = nonFinite;
    }

    /// <summary>Index = row.</summary>
    public static void Reduce(Index1D row, int segments, ArrayView<int> partialCounts, ArrayView<int> partialNonFinite, ArrayView<int> counts, ArrayView<int> nonFinite)
    {
        var count = 0;
        var flag = 0;
        var start = row * segments;
        for (var s = 0; s < segments; s++)
        {
            count += partialCounts[start + s];
            flag |= partialNonFinite[start + s];
        }
        counts[row] = count;
        nonFinite[row] = flag;
    }
}
