using ILGPU;
using ILGPU.Algorithms;

namespace Meta.Gpu.Kernels;

/// <summary>
/// One thread's column of <see cref="TrimmedMeanNetworkKernel"/>: the cells of the listed rows, read without a
/// branch so that a group of reads issues back to back.
/// </summary>
public readonly struct ColumnCells(DenseMatrix matrix, ArrayView<int> rows, int count, int column)
{
    /// <summary>Participating rows.</summary>
    public int Count => count;

    /// <summary>The cell of listed row <paramref name="row"/>; past the last row, the last row's cell again (a load
    /// without a branch, replaced by <see cref="Pad"/>). Adding x - x of every value read to a check gives 0 while
    /// all are finite and NaN once one is NaN or infinite.</summary>
    public float Read(int row) => matrix.Value(rows[XMath.Min(row, count - 1)], column);

    /// <summary><paramref name="value"/> for a listed row, <paramref name="pad"/> past the last row: +inf pads the
    /// low list and -inf the high list, which never keep a pad.</summary>
    public float Pad(int row, float value, float pad) => row < count ? value : pad;
}
