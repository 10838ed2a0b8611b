using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Software prefetch of a block of columns across the participating rows. The selection kernels walk down a
/// column group through N rows that are a whole row apart: N interleaved streams that the hardware prefetchers do
/// not follow, and a dependency chain per row that keeps few loads in flight. Prefetching the next block (every
/// row's lines of it) while the current one is computed turns that into memory-parallel reads. The streaming
/// kernels, which read eight rows at a time across a block, prefetch the next group of eight instead
/// (<see cref="NextGroup"/>, <see cref="Line"/>): a block's rows are only 1-2 KiB long, too short for the
/// hardware prefetchers to run ahead.
/// </summary>
internal static unsafe class RowPrefetch
{
    /// <summary>Columns per prefetched block: 1 KiB of each row.</summary>
    public const int Block = 256;

    /// <summary>Prefetches the columns [<paramref name="first"/>, <paramref name="end"/>) of every row into L1: the
    /// trimmed mean's tile path loads that block right after the current one.</summary>
    public static void Columns(float[] values, int[] rows, int stride, int first, int end)
    {
        fixed (float* p = values) Rows((nint)p, rows, stride, first, end, 0, rows.Length, intoL1: true);
    }

    /// <summary>
    /// Prefetches share <paramref name="part"/> of <paramref name="parts"/> (a slice of the rows) of the columns
    /// [<paramref name="first"/>, <paramref name="end"/>) of every row into L2. The weighted median, which computes for
    /// about half a microsecond per column vector, spreads the next block over the current one's vectors, one share
    /// per vector, so that each vector's rows come from cache instead of memory. The plain median's second pass is
    /// too short for it: the extra instructions cost more than the wait they saved.
    /// </summary>
    /// <remarks>
    /// Into L2 (prefetcht1), not L1: a block (256 KiB at 64 rows) is several times L1, so lines sent to L1 a block
    /// ahead only evicted the current vector's rows and tile there. On a 2-core AMD EPYC with AVX-512 (Zen 4,
    /// 32 KiB L1, thirty-first session) the weighted median at 64 x 1M took 24-27 ms with prefetcht1 or prefetcht2
    /// against 36-44 ms with prefetcht0 (probe, alternated); on the Xeon of the twenty-eighth session prefetcht1 had
    /// measured the same as prefetcht0.
    /// </remarks>
    public static void BlockShare(nint origin, int[] rows, nint stride, int first, int end, int part, int parts)
    {
        var n = rows.Length;
        Rows(origin, rows, stride, first, end, part * n / parts, (part + 1) * n / parts, intoL1: false);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(nint origin, int[] rows, nint stride, int first, int end, int fromRow, int toRow, bool intoL1)
    {
        if (!Sse.IsSupported || first >= end) return;
        var bytes = (nint)(end - first) * sizeof(float);
        for (var r = fromRow; r < toRow; r++)
        {
            var row = origin + (rows[r] * stride + first) * sizeof(float);
            // The span may start mid-line: its last line is the one holding its last byte.
            if (intoL1)
            {
                for (nint offset = 0; offset < bytes; offset += 64) Sse.Prefetch0((void*)(row + offset));
                Sse.Prefetch0((void*)(row + bytes - 1));
            }
            else
            {
                for (nint offset = 0; offset < bytes; offset += 64) Sse.Prefetch1((void*)(row + offset));
                Sse.Prefetch1((void*)(row + bytes - 1));
            }
        }
    }

    /// <summary>
    /// Writes into <paramref name="ahead"/> where the eight rows after the group at row position
    /// <paramref name="group"/> start in the block of columns at <paramref name="block"/>; after the last whole
    /// group (<paramref name="whole"/> rows), the first eight rows of the next block, <paramref name="blockColumns"/>
    /// further on. Raw addresses from <paramref name="origin"/>: past the last block they point beyond the chunk or
    /// the array, which a prefetch ignores but a managed reference must not do.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NextGroup(Span<nint> ahead, nint origin, int[] rows, nint stride, int group, int whole, int block, int blockColumns)
    {
        var last = group + 8 >= whole;
        var next = last ? 0 : group + 8;
        var start = last ? block + blockColumns : block;
        for (var j = 0; j < 8; j++) ahead[j] = origin + (rows[next + j] * stride + start) * sizeof(float);
    }

    /// <summary>Prefetches the line at byte <paramref name="offset"/> of each of eight rows (addresses from
    /// <see cref="NextGroup"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Line(nint a0, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6, nint a7, nint offset)
    {
        if (!Sse.IsSupported) return;
        Sse.Prefetch0((void*)(a0 + offset));
        Sse.Prefetch0((void*)(a1 + offset));
        Sse.Prefetch0((void*)(a2 + offset));
        Sse.Prefetch0((void*)(a3 + offset));
        Sse.Prefetch0((void*)(a4 + offset));
        Sse.Prefetch0((void*)(a5 + offset));
        Sse.Prefetch0((void*)(a6 + offset));
        Sse.Prefetch0((void*)(a7 + offset));
    }
}
