using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// One thread's column of a <see cref="TrimmedMeanTileKernel"/> group: where its cells are in the batch, and its
/// slice of the group's shared tile (row r at r x width + lane, so that
/// the group's threads touch consecutive banks); <paramref name="width"/> is the group size.
/// </summary>
public readonly struct TileColumn(DenseMatrix matrix, ArrayView<int> rows, int count, int column, ArrayView<float> tile, int width, int lane)
{
    /// <summary>Participating rows.</summary>
    public int Count => count;

    /// <summary>The cell of listed row <paramref name="row"/>, read from the batch once and kept in the tile;
    /// +inf past the last row (padding the low list never keeps). Adds x - x to <paramref name="check"/>: 0 for
    /// every finite x, NaN for NaN and the infinities, so the sum is NaN once any cell is not finite (a float
    /// rather than a flag: one add, and it stays in a register).</summary>
    public float Load(int row, ref float check)
    {
        if (row >= count) return float.PositiveInfinity;
        var x = matrix.Values[(long)rows[row] * matrix.Stride + column];
        tile[row * width + lane] = x;
        check += x - x;
        return x;
    }

    /// <summary>The cell of listed row <paramref name="row"/> from the tile; -inf past the last row (padding the
    /// high list never keeps).</summary>
    public float Reload(int row) => row < count ? tile[row * width + lane] : float.NegativeInfinity;

    /// <summary>The cell of listed row <paramref name="row"/> from the tile.</summary>
    public float Cell(int row) => tile[row * width + lane];
}
