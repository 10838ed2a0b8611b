using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The per-thread tile of sorted runs that the median kernel fills block by block: a block of columns holds
/// each column vector's M padded rows (vector v at rows v·M), sized to stay in L2 (<see cref="Bytes"/>); the
/// weighted median kernel takes the same storage for one column vector's rows at a time. Allocated
/// once per thread on the pinned heap and aligned to 32 bytes, so no call allocates and no run splits a cache line.
/// </summary>
internal static unsafe class RunTile
{
    /// <summary>
    /// Bytes of runs per block: small enough to stay in L2 next to the streamed rows. 64 KiB on Intel (256 columns
    /// at 64 rows); 128 KiB elsewhere, where each row's run is then twice as long: on the 2-core Zen 4 EPYC
    /// (thirty-first session, probe, alternated, 64 x 1M) the median took 13.4-14.7 ms (minimums) against 15.1-16.0
    /// with 64 KiB and 15.4-16.2 with 32 KiB; on the AVX2 EPYC of the third session 32-256 KiB had measured alike.
    /// The Xeon was not measured with more than 64 KiB.
    /// </summary>
    public static int Bytes { get; } = CpuVendor.IsIntel ? 64 * 1024 : 128 * 1024;

    /// <summary>Most columns per block (the callers' result buffers hold this many).</summary>
    public const int MaxColumns = 512;

    [ThreadStatic]
    private static byte[]? storage;

    /// <summary>
    /// The thread's tile for padded row count <paramref name="size"/> and the block width in columns (a multiple
    /// of eight) that fits it; the tile's contents are left from the thread's last use.
    /// </summary>
    public static Span<Vector256<T>> ForThread<T>(int size, out int blockColumns)
    {
        var vectors = Math.Clamp(Bytes / 32 / size, 1, MaxColumns / 8);
        blockColumns = vectors * 8;
        return Vectors<T>(vectors * size);
    }

    /// <summary>
    /// The same storage as <paramref name="length"/> vectors, for a kernel that keeps one column vector's rows
    /// at a time (a few KiB that stay in L1); the contents are left from the thread's last use.
    /// </summary>
    public static Span<Vector256<T>> Vectors<T>(int length)
    {
        var bytes = length * 32;
        if (storage is null || storage.Length < bytes + 32) storage = GC.AllocateUninitializedArray<byte>(Math.Max(bytes, Bytes) + 32, pinned: true);
        ref var first = ref MemoryMarshal.GetArrayDataReference(storage);
        var skip = (int)((32 - ((nint)Unsafe.AsPointer(ref first) & 31)) & 31);
        return MemoryMarshal.CreateSpan(ref Unsafe.As<byte, Vector256<T>>(ref Unsafe.Add(ref first, skip)), length);
    }
}
