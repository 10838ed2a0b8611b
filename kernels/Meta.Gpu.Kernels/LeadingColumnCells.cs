using ILGPU;
using ILGPU.Algorithms;

namespace Meta.Gpu.Kernels;

/// <summary>
/// One thread's column of a network kernel when the participating rows are the batch's first <paramref name="count"/>
/// rows in order (every domain kept: no outlier pass, or one that removed nobody) and the block holds fewer than
/// 2^31 cells (<see cref="Serves"/>): participating row k is batch row k, and its cell's place fits 32 bits, so a
/// read is a multiply-add and a wide address add. <see cref="ColumnCells"/> spends a dependent load (the row list)
/// and about eight integer instructions (64-bit places) on each cell.
/// </summary>
public readonly struct LeadingColumnCells(DenseMatrix matrix, int count, int column) : IColumnCells
{
    /// <summary>Whether these cells serve a launch: its list is the leading rows (<paramref name="leadingRows"/> = 1,
    /// <see cref="CombineSettings.LeadingRows"/>) and every place in <paramref name="matrix"/> fits an int.</summary>
    public static bool Serves(int leadingRows, DenseMatrix matrix) => leadingRows != 0 && matrix.Values.Length <= int.MaxValue;

    /// <inheritdoc/>
    public int Count => count;

    /// <inheritdoc/>
    public float Read(int row) => matrix.Values[XMath.Min(row, count - 1) * matrix.Stride + column];

    /// <inheritdoc/>
    public float Pad(int row, float value, float pad) => row < count ? value : pad;
}
