using ILGPU;
using ILGPU.Algorithms;

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

    /// <summary>The cell of listed row <paramref name="row"/>, read from the batch (once: <see cref="Keep"/> puts it
    /// in the tile); past the last row, the last row's cell again (a load without a branch, replaced by
    /// <see cref="Pad"/>). Adding x - x of every value read to a check gives 0 while all are finite and NaN once
    /// one is NaN or infinite.</summary>
    public float Read(int row) => matrix.Values[(long)rows[XMath.Min(row, count - 1)] * matrix.Stride + column];

    /// <summary><paramref name="value"/> for a listed row, +inf past the last row (padding the low list never
    /// keeps).</summary>
    public float Pad(int row, float value) => row < count ? value : float.PositiveInfinity;

    /// <summary>Keeps listed row <paramref name="row"/>'s cell in the tile (nothing past the last row).</summary>
    public void Keep(int row, float value)
    {
        if (row < count) tile[row * width + lane] = value;
    }

    /// <summary>The cell of listed row <paramref name="row"/> from the tile; -inf past the last row (padding the
    /// high list never keeps).</summary>
    public float Reload(int row) => row < count ? tile[row * width + lane] : float.NegativeInfinity;

    /// <summary>The cell of listed row <paramref name="row"/> from the tile.</summary>
    public float Cell(int row) => tile[row * width + lane];
}
