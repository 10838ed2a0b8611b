using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// DESIGN §4 step 3, the O(N x D) half of r_i: per participating row, the float64 sum of (x - m_d)^2 over its
/// taking-part cells and their count (with missing keys as zero, an absent cell is a 0 in a column some listed
/// row sent, and takes no part otherwise). The host adds the sums of all column chunks and takes
/// sqrt(sum / count), so the decision-relevant distance is float64 from end to end. Same two-launch layout as
/// <see cref="RowScanKernels"/>; the partials are added in a fixed order, so results are deterministic.
/// </summary>
public static class RowDistanceKernels
{
    /// <summary>Index = k * segments + segment, k indexing <paramref name="rows"/>.</summary>
    public static void Partials(
        Index1D index, DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> medians, int missingAsZero, ArrayView<int> columnSent,
        int segments, ArrayView<double> partialSums, ArrayView<int> partialCounts)
    {
        var k = index / segments;
        var segment = index - k * segments;
        var row = rows[k];
        var sum = 0.0;
        var count = 0;
        for (var column = segment; column < matrix.Columns; column += segments)
        {
            var zero = missingAsZero != 0 && columnSent[column] != 0 ? 1 : 0;
            if (!matrix.TryCell(row, column, zero, out var value)) continue;
            var d = (double)value - medians[column];
            sum += d * d;
            count++;
        }
        partialSums[index] = sum;
        partialCounts[index] = count;
    }

    /// <summary>Index = column: 1 when some listed row sent it (<see cref="DenseMatrix.AnySent"/>). Needed only
    /// with a mask and missing keys as zero; <see cref="Partials"/> reads it only then.</summary>
    public static void ColumnSent(Index1D column, DenseMatrix matrix, ArrayView<int> rows, int count, ArrayView<int> sent) =>
        sent[column] = matrix.AnySent(rows, count, column) ? 1 : 0;

    /// <summary>Index = k.</summary>
    public static void Reduce(Index1D k, int segments, ArrayView<double> partialSums, ArrayView<int> partialCounts, ArrayView<double> sums, ArrayView<int> counts)
    {
        var sum = 0.0;
        var count = 0;
        var start = k * segments;
        for (var s = 0; s < segments; s++)
        {
            sum += partialSums[start + s];
            count += partialCounts[start + s];
        }
        sums[k] = sum;
        counts[k] = count;
    }
}
