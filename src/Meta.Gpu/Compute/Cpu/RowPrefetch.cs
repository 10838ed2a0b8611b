using System.Runtime.Intrinsics.X86;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Software prefetch of a block of columns across the participating rows. The selection kernels walk down a
/// column group through N rows that are a whole row apart: N interleaved streams that the hardware prefetchers do
/// not follow, and a dependency chain per row that keeps few loads in flight. Prefetching the next block (every
/// row's lines of it) while the current one is computed turns that into memory-parallel reads.
/// </summary>
internal static unsafe class RowPrefetch
{
    /// <summary>Columns per prefetched block: 1 KiB of each row.</summary>
    public const int Block = 256;

    public static void Columns(float[] values, int[] rows, int stride, int first, int end)
    {
        if (!Sse.IsSupported || first >= end) return;
        fixed (float* p = values)
        {
            foreach (var r in rows)
            {
                var row = p + (long)r * stride;
                for (var c = first; c < end; c += 16) Sse.Prefetch0(row + c);
            }
        }
    }
}
