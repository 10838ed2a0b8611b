using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// A row-major N x W float32 block on the device as the kernels see it: <see cref="Stride"/> floats between the
/// starts of consecutive rows (&gt;= <see cref="Columns"/>; the padding is never read), and an optional byte
/// presence mask in the same layout (non-zero = present).
/// </summary>
/// <remarks>
/// When <see cref="HasMask"/> is 0 every cell is present and <see cref="Mask"/> is a one-byte placeholder that is
/// never read. The block may be a whole batch (resident mode) or one column chunk of it packed with its own
/// stride (chunked mode); the kernels do not know which.
/// </remarks>
public struct DenseMatrix
{
    public ArrayView<float> Values;
    public ArrayView<byte> Mask;
    public int Stride;
    public int Columns;
    public int HasMask;

    public DenseMatrix(ArrayView<float> values, ArrayView<byte> mask, int stride, int columns, bool hasMask)
    {
        Values = values;
        Mask = mask;
        Stride = stride;
        Columns = columns;
        HasMask = hasMask ? 1 : 0;
    }

    /// <summary>Where cell (row, column) lies in <see cref="Values"/> and <see cref="Mask"/> (64-bit: a batch may
    /// hold more than 2^31 cells).</summary>
    public readonly long At(int row, int column) => (long)row * Stride + column;

    /// <summary>Cell (row, column) as stored, present or not.</summary>
    public readonly float Value(int row, int column) => Values[At(row, column)];

    /// <summary>Whether the domain sent cell (row, column).</summary>
    public readonly bool IsPresent(int row, int column) => HasMask == 0 || Mask[At(row, column)] != 0;

    /// <summary>
    /// Whether any of the first <paramref name="count"/> listed rows sent column <paramref name="column"/>: with
    /// missing keys as zero, absent cells become present zeros only in such a column (the union of the kept
    /// domains' keys, DESIGN §4 step 2); a column nobody sent stays empty.
    /// </summary>
    public readonly bool AnySent(ArrayView<int> rows, int count, int column)
    {
        if (HasMask == 0) return count > 0;
        for (var k = 0; k < count; k++)
            if (IsPresent(rows[k], column)) return true;
        return false;
    }

    /// <summary>Whether cell (row, column) takes part, and its value: a present cell as stored; an absent cell
    /// is a present 0 when <paramref name="missingAsZero"/> is non-zero and takes no part otherwise.</summary>
    public readonly bool TryCell(int row, int column, int missingAsZero, out float value)
    {
        var at = At(row, column);
        if (HasMask == 0 || Mask[at] != 0)
        {
            value = Values[at];
            return true;
        }
        value = 0f;
        return missingAsZero != 0;
    }
}
