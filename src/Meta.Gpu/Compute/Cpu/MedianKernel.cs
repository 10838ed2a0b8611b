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
    /// <summary>Largest padded row count the tile takes on the stack (16 KiB).</summary>
    public const int MaxRows = 512;

    /// <summary>Combines columns [c0, c1) into <paramref name="target"/>; the scalar tail goes to the exact path.</summary>
    [SkipLocalsInit]
    public static void Run(DomainBatch batch, int[] rows, int c0, int c1, ColumnTarget target, CombineJob exact)
    {
        var width = Vector256<float>.Count;
        var end = Vector256.IsHardwareAccelerated ? c0 + (c1 - c0) / width * width : c0;
        Span<Vector256<float>> tile = stackalloc Vector256<float>[PaddedRows(rows.Length)];
        Span<double> values = stackalloc double[width];
        RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Ahead));
        for (var c = c0; c < end; c += width)
        {
            Group(batch, rows, c, tile, values);
            for (var lane = 0; lane < width; lane++) target.Write(c + lane, values[lane]);
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    /// <summary>
    /// Writes the medians of columns [c0, end) into <paramref name="medians"/>, where end is the last multiple of
    /// the vector width; returns end (the caller takes the rest on its exact path).
    /// </summary>
    [SkipLocalsInit]
    public static int Run(DomainBatch batch, int[] rows, int c0, int c1, Span<double> medians)
    {
        var width = Vector256<float>.Count;
        if (!Vector256.IsHardwareAccelerated || rows.Length == 0) return c0;
        var end = c0 + (c1 - c0) / width * width;
        Span<Vector256<float>> tile = stackalloc Vector256<float>[PaddedRows(rows.Length)];
        RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Ahead));
        for (var c = c0; c < end; c += width)
        {
            Group(batch, rows, c, tile, medians.Slice(c, width));
        }
        return end;
    }

    private static int PaddedRows(int n) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(n, 8));

    /// <summary>The medians of the eight columns from <paramref name="c"/> on, in float64.</summary>
    private static void Group(DomainBatch batch, int[] rows, int c, Span<Vector256<float>> tile, Span<double> result)
    {
        var n = rows.Length;
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = (nint)batch.Stride;
        ref var t = ref tile[0];
        if ((c & 15) == 0) RowPrefetch.Line(ref data, rows, stride, c, batch.Columns);
        // Whole groups of eight rows are sorted in registers straight from the batch.
        var whole = n / 8 * 8;
        for (var g = 0; g < whole; g += 8)
        {
            var a0 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[g] * stride + c));
            var a1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[g + 1] * stride + c));
            var a2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[g + 2] * stride + c));
            var a3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[g + 3] * stride + c));
            var a4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[g + 4] * stride + c));
            var a5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[g + 5] * stride + c));
            var a6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[g + 6] * stride + c));
            var a7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[g + 7] * stride + c));
            ColumnSortNetwork.Sort8(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
            ref var o = ref Unsafe.Add(ref t, g);
            o = a0;
            Unsafe.Add(ref o, 1) = a1;
            Unsafe.Add(ref o, 2) = a2;
            Unsafe.Add(ref o, 3) = a3;
            Unsafe.Add(ref o, 4) = a4;
            Unsafe.Add(ref o, 5) = a5;
            Unsafe.Add(ref o, 6) = a6;
            Unsafe.Add(ref o, 7) = a7;
        }
        if (whole < n)
        {
            for (var r = whole; r < n; r++) Unsafe.Add(ref t, r) = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
            tile[n..(whole + 8)].Fill(Vector256.Create(float.PositiveInfinity));
            ColumnSortNetwork.Sort8(ref Unsafe.Add(ref t, whole));
        }
        // The groups past the rows are all +inf: sorted already.
        var filled = whole < n ? whole + 8 : whole;
        if (filled < tile.Length) tile[filled..].Fill(Vector256.Create(float.PositiveInfinity));
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
