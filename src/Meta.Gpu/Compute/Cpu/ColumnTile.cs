using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// A per-thread copy of <see cref="Width"/> columns of every participating row, row after row in one 32-byte
/// aligned buffer. The selection kernels walk each column group down all N rows, twice: straight from the batch
/// those are N streams a whole row apart (a page and a TLB entry per row and per load, plus the row-index lookup);
/// from the tile they are one small L1-resident block at a fixed stride.
/// </summary>
internal sealed class ColumnTile
{
    /// <summary>Columns per tile: 256 bytes of each row (N x 256 bytes in all, 16 KiB at N = 64).</summary>
    public const int Width = 64;

    [ThreadStatic] private static ColumnTile? current;

    private float[] buffer = [];
    private int offset;

    /// <summary>The calling thread's tile, grown to hold <paramref name="rows"/> rows.</summary>
    public static ColumnTile ForThread(int rows)
    {
        var t = current ??= new ColumnTile();
        var needed = Math.Max(1, rows) * Width + 8;
        if (t.buffer.Length < needed)
        {
            // Pinned so that the aligned offset found here stays aligned.
            t.buffer = GC.AllocateUninitializedArray<float>(needed, pinned: true);
            t.offset = AlignedOffset(t.buffer);
        }
        return t;
    }

    /// <summary>The first cell of tile row 0.</summary>
    public ref float Start => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(buffer), offset);

    /// <summary>Copies columns [first, first + width) of <paramref name="rows"/> into the tile (width a multiple
    /// of 8, at most <see cref="Width"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Load(DomainBatch batch, int[] rows, int first, int width)
    {
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        ref var tile = ref Start;
        var stride = (nint)batch.Stride;
        for (var r = 0; r < rows.Length; r++)
        {
            ref var source = ref Unsafe.Add(ref data, rows[r] * stride + first);
            ref var target = ref Unsafe.Add(ref tile, (nint)r * Width);
            if (width == Width)
            {
                Vector256.LoadUnsafe(ref source, 0).StoreUnsafe(ref target, 0);
                Vector256.LoadUnsafe(ref source, 8).StoreUnsafe(ref target, 8);
                Vector256.LoadUnsafe(ref source, 16).StoreUnsafe(ref target, 16);
                Vector256.LoadUnsafe(ref source, 24).StoreUnsafe(ref target, 24);
                Vector256.LoadUnsafe(ref source, 32).StoreUnsafe(ref target, 32);
                Vector256.LoadUnsafe(ref source, 40).StoreUnsafe(ref target, 40);
                Vector256.LoadUnsafe(ref source, 48).StoreUnsafe(ref target, 48);
                Vector256.LoadUnsafe(ref source, 56).StoreUnsafe(ref target, 56);
            }
            else
            {
                for (var c = 0; c < width; c += 8)
                    Vector256.LoadUnsafe(ref source, (nuint)c).StoreUnsafe(ref target, (nuint)c);
            }
        }
    }

    private static unsafe int AlignedOffset(float[] pinned)
    {
        var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        return (int)((32 - (address & 31)) & 31) / sizeof(float);
    }
}
