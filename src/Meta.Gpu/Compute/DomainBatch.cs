namespace Meta.Gpu.Compute;

/// <summary>
/// The dense form of one round's domain updates (DESIGN §4): N rows of D float32 values, row-major with a row
/// stride the engine chooses, an optional per-cell presence mask, N confidences and N domain ids.
/// </summary>
/// <remarks>
/// The stride is D rounded up to whole 64-byte lines, plus <see cref="SetSkewFloats"/> (2 KiB and one line) when
/// that would put rows a multiple of 4 KiB apart: rows of a power-of-two D would otherwise map the same columns to
/// the same cache sets. One line of skew was enough for L1, not for L2: the cpu selection kernels read a 2 KiB run
/// of each of 64 rows and read it again from L2, and with rows one set apart those runs overlapped 32 deep in 8-way
/// sets (the twelfth session measured the trimmed mean about 7 % and the weighted median about 12 % faster at
/// 64 x 2^20 with the wider skew, averaged over alternating runs).
/// Cells past D in a row (the padding) are never read as data.
/// A backend may keep a device copy of the batch across rounds: it tags its copy with <see cref="Version"/>,
/// which <see cref="MarkChanged"/> bumps after the caller writes new values.
/// </remarks>
public sealed class DomainBatch
{
    /// <summary>Floats per 64-byte line.</summary>
    public const int LineFloats = 16;

    private const int PageFloats = 4096 / sizeof(float);

    /// <summary>Padding added to a stride that is a multiple of 4 KiB: 2 KiB and one line, so that successive rows'
    /// 2 KiB runs at the same columns fall in disjoint cache sets.</summary>
    public const int SetSkewFloats = 2048 / sizeof(float) + LineFloats;

    public DomainBatch(int rows, int columns, bool withMask = false)
    {
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "rows must be >= 0");
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be >= 1");
        Rows = rows;
        Columns = columns;
        Stride = ChooseStride(columns);
        // Refused here, naming the sizes: the array allocation threw an OverflowException or an
        // OutOfMemoryException that named neither.
        if (rows > MaxRows(columns))
            throw new ArgumentOutOfRangeException(nameof(rows), rows,
                $"{rows} rows of {columns} columns (stride {Stride}) are {(long)rows * Stride} cells, more than one array holds ({Array.MaxLength}): at most {MaxRows(columns)} rows of this width");
        Values = new float[(long)rows * Stride];
        Mask = withMask ? new byte[Values.Length] : null;
        Confidences = new double[rows];
        Ids = new string[rows];
        for (var i = 0; i < rows; i++) Ids[i] = $"row{i}";
    }

    /// <summary>N: the number of domains.</summary>
    public int Rows { get; }

    /// <summary>D: the number of parameters per domain.</summary>
    public int Columns { get; }

    /// <summary>Floats between the starts of consecutive rows (&gt;= D).</summary>
    public int Stride { get; }

    /// <summary>Row-major values, <see cref="Rows"/> x <see cref="Stride"/>.</summary>
    public float[] Values { get; }

    /// <summary>Presence per cell (non-zero = present), same layout as <see cref="Values"/>; null = all present.</summary>
    public byte[]? Mask { get; }

    /// <summary>Raw confidence per row, as the domain sent it.</summary>
    public double[] Confidences { get; }

    /// <summary>Domain id per row (rows are in domain id order when the agent builds the batch).</summary>
    public string[] Ids { get; }

    /// <summary>Bumped by <see cref="MarkChanged"/>; device copies are valid for one version.</summary>
    public long Version { get; private set; }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is not in [0, <see cref="Rows"/>).</exception>
    public Span<float> Row(int row) => Values.AsSpan(CheckedRow(row) * Stride, Columns);

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is not in [0, <see cref="Rows"/>).</exception>
    public Span<byte> MaskRow(int row) =>
        Mask is null ? throw new InvalidOperationException("this batch has no mask") : Mask.AsSpan(CheckedRow(row) * Stride, Columns);

    /// <exception cref="ArgumentOutOfRangeException">The row or the column is out of range.</exception>
    public bool IsPresent(int row, int column)
    {
        // A column past D read the padding (absent with a mask, present without one), and a row past N the next
        // one, rather than failing: the cell index only overflows the array at the very end.
        CheckedRow(row);
        if ((uint)column >= (uint)Columns)
            throw new ArgumentOutOfRangeException(nameof(column), column, $"column must be in [0, {Columns})");
        return Mask is null || Mask[row * Stride + column] != 0;
    }

    private int CheckedRow(int row) =>
        (uint)row < (uint)Rows ? row : throw new ArgumentOutOfRangeException(nameof(row), row, $"row must be in [0, {Rows})");

    /// <summary>Of columns [<paramref name="c0"/>, <paramref name="c1"/>), those some of <paramref name="rows"/>
    /// sent (present in the mask): §4's key union, where <c>missing_keys = zero</c> counts a column for every
    /// row. Every column without a mask.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The columns are not a range of this batch's, or a row is
    /// outside it.</exception>
    public bool[] SentColumns(ReadOnlySpan<int> rows, int c0, int c1)
    {
        // A reversed range was an OverflowException, and one past D read the padding as data or failed naming nothing.
        if (c0 < 0 || c0 > c1 || c1 > Columns)
            throw new ArgumentOutOfRangeException(nameof(c1), $"columns [{c0}, {c1}) are not a range of [0, {Columns})");
        foreach (var r in rows) CheckedRow(r);
        var sent = new bool[c1 - c0];
        if (Mask is null)
        {
            sent.AsSpan().Fill(true);
            return sent;
        }
        foreach (var r in rows)
        {
            var present = Mask.AsSpan(r * Stride + c0, c1 - c0);
            for (var c = 0; c < present.Length; c++) sent[c] |= present[c] != 0;
        }
        return sent;
    }

    /// <summary>Call after writing values, mask or confidences so that device copies are refreshed.</summary>
    public void MarkChanged() => Version++;

    /// <summary>Checks a backend's row selection: ascending, distinct row indices of this batch. Every backend
    /// primitive that takes <c>rows</c> calls it first, so a bad selection is the same error on every backend.</summary>
    /// <exception cref="ArgumentException">A row out of range, repeated or out of order.</exception>
    internal void CheckRowSelection(ReadOnlySpan<int> rows, string paramName)
    {
        var previous = -1;
        foreach (var row in rows)
        {
            if (row <= previous || row >= Rows)
                throw new ArgumentException(FormattableString.Invariant($"rows must be ascending, distinct and in [0, {Rows}); got {row} after {previous}"), paramName);
            previous = row;
        }
    }

    /// <summary>The most rows of <paramref name="columns"/> values one batch holds (its cells are one array).</summary>
    public static int MaxRows(int columns) => Array.MaxLength / ChooseStride(columns);

    /// <summary>The widest row whose padded stride still fits an array.</summary>
    public static int MaxColumns => Array.MaxLength - SetSkewFloats - LineFloats;

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> is below 1 or above
    /// <see cref="MaxColumns"/> (the rounding would overflow an int).</exception>
    public static int ChooseStride(int columns)
    {
        if (columns < 1 || columns > MaxColumns)
            throw new ArgumentOutOfRangeException(nameof(columns), columns, $"columns must be in [1, {MaxColumns}]");
        var stride = (columns + LineFloats - 1) / LineFloats * LineFloats;
        if (stride >= PageFloats && stride % PageFloats == 0) stride += SetSkewFloats;
        return stride;
    }
}
