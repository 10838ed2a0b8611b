using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>DESIGN §4 step 3: m_d over the taking-part cells of the listed rows, one thread per column (threads
/// of a warp read neighbouring columns of the same row: coalesced). NaN where a column has none; with missing
/// keys as zero, absent cells are zeros only in a column some listed row sent.</summary>
public static class ColumnMedianKernel
{
    /// <summary>Index = column.</summary>
    public static void Run(Index1D column, DenseMatrix matrix, ArrayView<int> rows, int count, int missingAsZero, ArrayView<double> medians)
    {
        var zero = missingAsZero != 0 && matrix.AnySent(rows, count, column) ? 1 : 0;
        var present = 0;
        for (var k = 0; k < count; k++)
            if (matrix.TryCell(rows[k], column, zero, out _)) present++;
        medians[column] = ColumnOrder.Median(matrix, rows, count, column, zero, present);
    }
}
