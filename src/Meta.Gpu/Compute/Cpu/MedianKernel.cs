using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The unweighted median over unmasked rows: eight columns per Vector256, a bitonic sorting network over the
/// column group's N values (padded with +inf to a power of two) held in a stack tile, then the middle one or
/// two values (their mean in float64). The median's value does not depend on how ties are ordered, so the
/// network needs no row payload and its result equals the reference's exactly.
/// </summary>
internal static class MedianKernel
{
    /// <summary>Largest padded row count the tile takes on the stack (16 KiB).</summary>
    public const int MaxRows = 512;

    [SkipLocalsInit]
    public static void Run(DomainBatch batch, int[] rows, int c0, int c1, ColumnTarget target, CombineJob exact)
    {
        var n = rows.Length;
        var width = Vector256<float>.Count;
        var end = c0 + (c1 - c0) / width * width;
        if (!Vector256.IsHardwareAccelerated) end = c0;
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(n, 2));
        Span<Vector256<float>> tile = stackalloc Vector256<float>[size];
        Span<double> values = stackalloc double[width];
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = (nint)batch.Stride;
        var low = (n - 1) / 2;
        var high = n / 2;

        RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Block));
        for (var c = c0; c < end; c += width)
        {
            if ((c - c0) % RowPrefetch.Block == 0)
                RowPrefetch.Columns(batch.Values, rows, batch.Stride, c + RowPrefetch.Block, Math.Min(end, c + 2 * RowPrefetch.Block));
            for (var r = 0; r < n; r++) tile[r] = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
            tile[n..].Fill(Vector256.Create(float.PositiveInfinity));
            BitonicSort(tile);
            var (al, ah) = Vector256.Widen(tile[low]);
            var (bl, bh) = Vector256.Widen(tile[high]);
            var half = Vector256.Create(0.5);
            ((al + bl) * half).CopyTo(values);
            ((ah + bh) * half).CopyTo(values[4..]);
            for (var lane = 0; lane < width; lane++) target.Write(c + lane, values[lane]);
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    /// <summary>Sorts each lane of <paramref name="tile"/> ascending (length a power of two).</summary>
    private static void BitonicSort(Span<Vector256<float>> tile)
    {
        var count = tile.Length;
        ref var a = ref MemoryMarshal.GetReference(tile);
        for (var size = 2; size <= count; size <<= 1)
        {
            for (var step = size >> 1; step > 0; step >>= 1)
            {
                for (var block = 0; block < count; block += 2 * step)
                {
                    // Within a run of 'size' the direction is fixed: ascending where (index & size) == 0.
                    var ascending = (block & size) == 0;
                    ref var first = ref Unsafe.Add(ref a, block);
                    ref var second = ref Unsafe.Add(ref a, block + step);
                    if (ascending)
                    {
                        for (var i = 0; i < step; i++)
                        {
                            var x = Unsafe.Add(ref first, i);
                            var y = Unsafe.Add(ref second, i);
                            Unsafe.Add(ref first, i) = Vector256.MinNative(x, y);
                            Unsafe.Add(ref second, i) = Vector256.MaxNative(x, y);
                        }
                    }
                    else
                    {
                        for (var i = 0; i < step; i++)
                        {
                            var x = Unsafe.Add(ref first, i);
                            var y = Unsafe.Add(ref second, i);
                            Unsafe.Add(ref first, i) = Vector256.MaxNative(x, y);
                            Unsafe.Add(ref second, i) = Vector256.MinNative(x, y);
                        }
                    }
                }
            }
        }
    }
}
