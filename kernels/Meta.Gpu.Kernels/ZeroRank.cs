namespace Meta.Gpu.Kernels;

/// <summary>
/// Which zero (value, row) order puts at a rank. -0 and +0 are equal values in that order (DESIGN §4 step 6), so
/// among a column's zero cells the rows decide: the zero at rank r is the (r - cells below zero)-th zero in row
/// order, and its sign is the median's. A sort or a network over values alone cannot tell which zero that is; one
/// more read of the column can, where the walks would read it once per rank up to the middle.
/// </summary>
public static class ZeroRank
{
    /// <summary>The <paramref name="index"/>-th zero cell (0-based, row order, either sign) of the column.</summary>
    public static float At<TCells>(in TCells cells, int index)
        where TCells : struct, IColumnCells
    {
        var seen = 0;
        var zero = 0f;
        for (var k = 0; k < cells.Count; k++)
        {
            var x = cells.Read(k);
            var isZero = x == 0f;
            zero = isZero && seen == index ? x : zero;
            seen += isZero ? 1 : 0;
        }
        return zero;
    }
}
