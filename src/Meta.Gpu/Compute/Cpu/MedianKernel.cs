using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The unweighted median over unmasked rows, eight columns per Vector256. The column group's N values (padded
/// with +inf to a power of two M of at least 8) are sorted only into two ascending halves of M/2 rows (groups of
/// eight sorted in registers, then bitonic merges, <see cref="ColumnSortNetwork"/>); the middle one or two order
/// statistics are then selected from the two halves without merging them (about 2·M/2 min/max each, where the
/// last merge level would cost M/2·log2(M) comparators). Their mean is taken in float64. The median's value does
/// not depend on how ties are ordered, so the network needs no row payload and its result equals the
/// reference's exactly.
/// </summary>
internal static class MedianKernel
{
    /// <summary>Largest padded row count (one column vector's runs fill 16 KiB of the thread's tile).</summary>
    public const int MaxRows = 512;

    /// <summary>Combines columns [c0, c1) into <paramref name="target"/>; the scalar tail goes to the exact path.</summary>
    [SkipLocalsInit]
    public static void Run(DomainBatch batch, int[] rows, int c0, int c1, ColumnTarget target, CombineJob exact)
    {
        var width = Vector256<float>.Count;
        var end = Vector256.IsHardwareAccelerated ? c0 + (c1 - c0) / width * width : c0;
        Span<double> values = stackalloc double[RunTile.MaxColumns];
        if (end > c0)
        {
            var tile = RunTile.ForThread<float>(PaddedRows(rows.Length), out var blockColumns);
            for (var b = c0; b < end; b += blockColumns)
            {
                var columns = Math.Min(blockColumns, end - b);
                Block(batch, rows, b, columns, tile, values);
                for (var c = 0; c < columns; c++) target.Write(b + c, values[c]);
            }
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    /// <summary>
    /// Writes the medians of columns [c0, end) into <paramref name="medians"/>, where end is the last multiple of
    /// the vector width; returns end (the caller takes the rest on its exact path).
    /// </summary>
    public static int Run(DomainBatch batch, int[] rows, int c0, int c1, Span<double> medians)
    {
        var width = Vector256<float>.Count;
        if (!Vector256.IsHardwareAccelerated || rows.Length == 0) return c0;
        var end = c0 + (c1 - c0) / width * width;
        if (end == c0) return c0;
        var tile = RunTile.ForThread<float>(PaddedRows(rows.Length), out var blockColumns);
        for (var b = c0; b < end; b += blockColumns)
        {
            var columns = Math.Min(blockColumns, end - b);
            Block(batch, rows, b, columns, tile, medians.Slice(b, columns));
        }
        return end;
    }

    private static int PaddedRows(int n) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(n, 8));

    /// <summary>
    /// The medians of the <paramref name="columns"/> columns (a multiple of eight) from <paramref name="b"/> on.
    /// Pass A reads eight rows at a time across the whole block (eight streams the hardware prefetchers follow,
    /// where walking one column group down all rows would read N streams at once), sorts each eight-row group per
    /// column vector in registers and stores the sorted run in the tile (vector v's rows at v·M); pass B selects
    /// each vector's median from its runs, in L2.
    /// </summary>
    private static void Block(DomainBatch batch, int[] rows, int b, int columns, Span<Vector256<float>> tile, Span<double> result)
    {
        var n = rows.Length;
        var size = PaddedRows(n);
        var vectors = columns / 8;
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = (nint)batch.Stride;
        ref var t = ref tile[0];
        var inf = Vector256.Create(float.PositiveInfinity);
        var whole = n / 8 * 8;
        for (var g = 0; g < whole; g += 8)
        {
            ref var r0 = ref Unsafe.Add(ref data, rows[g] * stride + b);
            ref var r1 = ref Unsafe.Add(ref data, rows[g + 1] * stride + b);
            ref var r2 = ref Unsafe.Add(ref data, rows[g + 2] * stride + b);
            ref var r3 = ref Unsafe.Add(ref data, rows[g + 3] * stride + b);
            ref var r4 = ref Unsafe.Add(ref data, rows[g + 4] * stride + b);
            ref var r5 = ref Unsafe.Add(ref data, rows[g + 5] * stride + b);
            ref var r6 = ref Unsafe.Add(ref data, rows[g + 6] * stride + b);
            ref var r7 = ref Unsafe.Add(ref data, rows[g + 7] * stride + b);
            ref var o = ref Unsafe.Add(ref t, g);
            for (var v = 0; v < vectors; v++)
            {
                var c = (nint)(v * 8);
                var a0 = Vector256.LoadUnsafe(ref r0, (nuint)c);
                var a1 = Vector256.LoadUnsafe(ref r1, (nuint)c);
                var a2 = Vector256.LoadUnsafe(ref r2, (nuint)c);
                var a3 = Vector256.LoadUnsafe(ref r3, (nuint)c);
                var a4 = Vector256.LoadUnsafe(ref r4, (nuint)c);
                var a5 = Vector256.LoadUnsafe(ref r5, (nuint)c);
                var a6 = Vector256.LoadUnsafe(ref r6, (nuint)c);
                var a7 = Vector256.LoadUnsafe(ref r7, (nuint)c);
                ColumnSortNetwork.Sort8(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
                o = a0;
                Unsafe.Add(ref o, 1) = a1;
                Unsafe.Add(ref o, 2) = a2;
                Unsafe.Add(ref o, 3) = a3;
                Unsafe.Add(ref o, 4) = a4;
                Unsafe.Add(ref o, 5) = a5;
                Unsafe.Add(ref o, 6) = a6;
                Unsafe.Add(ref o, 7) = a7;
                o = ref Unsafe.Add(ref o, size);
            }
        }
        // The last partial group is padded with +inf; the groups past the rows are all +inf: sorted already.
        var filled = whole < n ? whole + 8 : whole;
        for (var v = 0; v < vectors; v++)
        {
            ref var run = ref Unsafe.Add(ref t, v * size);
            if (whole < n)
            {
                for (var r = whole; r < n; r++) Unsafe.Add(ref run, r) = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + b + v * 8));
                for (var r = n; r < filled; r++) Unsafe.Add(ref run, r) = inf;
                ColumnSortNetwork.Sort8(ref Unsafe.Add(ref run, whole));
            }
            for (var r = filled; r < size; r++) Unsafe.Add(ref run, r) = inf;
            Select(tile.Slice(v * size, size), n, result.Slice(v * 8, 8));
        }
    }

    /// <summary>The medians of one vector's eight columns, from its sorted runs of eight, in float64.</summary>
    private static void Select(Span<Vector256<float>> tile, int n, Span<double> result)
    {
        ref var t = ref tile[0];
        var low = (n - 1) / 2;
        var high = n / 2;
        Vector256<float> a, b;
        if (tile.Length == 8)
        {
            a = tile[low];
            b = tile[high];
        }
        else
        {
            var half = tile.Length / 2;
            ColumnSortNetwork.MergeRuns(tile, half);
            ref var second = ref Unsafe.Add(ref t, half);
            a = ColumnSortNetwork.Select(ref t, ref second, half, low);
            b = high == low ? a : ColumnSortNetwork.Select(ref t, ref second, half, high);
        }
        var (al, ah) = Vector256.Widen(a);
        var (bl, bh) = Vector256.Widen(b);
        var halfOf = Vector256.Create(0.5);
        ((al + bl) * halfOf).CopyTo(result);
        ((ah + bh) * halfOf).CopyTo(result[4..]);
    }
}
