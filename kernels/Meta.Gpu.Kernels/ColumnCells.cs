using ILGPU;
using ILGPU.Algorithms;

namespace Meta.Gpu.Kernels;

/// <summary>
/// One thread's column of a network kernel over listed rows (<paramref name="rows"/>[k] is the batch row of
/// participating row k): each read looks its row up first. Reads go without a branch, so that a group of them
/// issues back to back.
/// </summary>
public readonly struct ColumnCells(DenseMatrix matrix, ArrayView<int> rows, int count, int column) : IColumnCells
{
    /// <inheritdoc/>
    public int Count => count;

    /// <inheritdoc/>
    public float Read(int row) => matrix.Value(rows[XMath.Min(row, count - 1)], column);

    /// <inheritdoc/>
    public float Pad(int row, float value, float pad) => row < count ? value : pad;
}
