using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>DESIGN §4 step 3: m_d over the taking-part cells of the listed rows, one thread per column (threads
/// of a warp read neighbouring columns of the same row: coalesced). NaN where a column has none.</summary>
public static class ColumnMedianKernel
{
    /// <summary>Index = column.</summary>
    public static void Run(Index1D column, DenseMatrix matrix, ArrayView<int> rows, int count, int missingAsZero, ArrayView<double> medians)
    {
        var present = 0;
        for (var k = 0; k < count; k++)
            if (matrix.TryCell(rows[k], column, missingAsZero, out _)) present++;
        medians[column] = ColumnOrder.Median(matrix, rows, count, column, missingAsZero, present);
    }
}
