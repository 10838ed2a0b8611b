using System.Runtime.CompilerServices;
namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Gathers a block of columns of the participating rows into column-major scratch (the exact path's input):
/// for column c, <c>Values[c * n ..]</c> holds its present cells in row order and <c>Positions</c> their index
/// into the participating rows.
/// </summary>
/// <remarks>
/// With <c>missingAsZero</c>, an absent cell is a present 0, but only in a column that some participating row
/// sent (the union of keys of DESIGN §4 step 2): a column no participating row sent stays empty (NaN), exactly as
/// the keyed reference never sees such a key.
/// </remarks>
internal static class ColumnGather
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block(DomainBatch batch, int[] rows, bool missingAsZero, int firstColumn, int width, ColumnScratch scratch)
    {
        var n = rows.Length;
        var values = scratch.Values;
        var positions = scratch.Positions;
        var counts = scratch.Counts;
        var any = scratch.AnyPresent;
        var data = batch.Values;
        var mask = batch.Mask;
        var stride = batch.Stride;

        if (mask is null)
        {
            for (var k = 0; k < n; k++)
            {
                var row = data.AsSpan(rows[k] * stride + firstColumn, width);
                for (var c = 0; c < width; c++)
                {
                    values[c * n + k] = row[c];
                    positions[c * n + k] = k;
                }
            }
            for (var c = 0; c < width; c++)
            {
                counts[c] = n;
                any[c] = n > 0;
            }
            return;
        }

        for (var c = 0; c < width; c++)
        {
            counts[c] = 0;
            any[c] = false;
        }
        for (var k = 0; k < n; k++)
        {
            var offset = rows[k] * stride + firstColumn;
            var row = data.AsSpan(offset, width);
            var present = mask.AsSpan(offset, width);
            for (var c = 0; c < width; c++)
            {
                var isPresent = present[c] != 0;
                if (!isPresent && !missingAsZero) continue;
                any[c] |= isPresent;
                var at = c * n + counts[c]++;
                values[at] = isPresent ? row[c] : 0f;
                positions[at] = k;
            }
        }
        if (missingAsZero)
        {
            for (var c = 0; c < width; c++)
                if (!any[c]) counts[c] = 0;
        }
    }
}
