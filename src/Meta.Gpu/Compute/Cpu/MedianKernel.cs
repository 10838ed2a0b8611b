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
        RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Block));
        for (var c = c0; c < end; c += width)
        {
            if ((c - c0) % RowPrefetch.Block == 0)
                RowPrefetch.Columns(batch.Values, rows, batch.Stride, c + RowPrefetch.Block, Math.Min(end, c + 2 * RowPrefetch.Block));
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
        RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Block));
        for (var c = c0; c < end; c += width)
        {
            if ((c - c0) % RowPrefetch.Block == 0)
                RowPrefetch.Columns(batch.Values, rows, batch.Stride, c + RowPrefetch.Block, Math.Min(end, c + 2 * RowPrefetch.Block));
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
        for (var r = 0; r < n; r++) Unsafe.Add(ref t, r) = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
        tile[n..].Fill(Vector256.Create(float.PositiveInfinity));
        var low = (n - 1) / 2;
        var high = n / 2;
        Vector256<float> a, b;
        if (tile.Length == 8)
        {
            ColumnSortNetwork.SortRuns(tile, 8);
            a = tile[low];
            b = tile[high];
        }
        else
        {
            var half = tile.Length / 2;
            ColumnSortNetwork.SortRuns(tile, half);
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
