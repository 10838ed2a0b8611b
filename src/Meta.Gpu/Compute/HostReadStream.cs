using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Meta.Gpu.Compute.Cpu;

namespace Meta.Gpu.Compute;

/// <summary>
/// The host's bandwidth reference of DESIGN §13: a vectorised multi-threaded sum over a float32 array (a pure read
/// stream) and a parallel copy, over the threads the cpu backend uses. `meta-gpu bench` and the BenchmarkDotNet
/// suites both time these, so their shares of read have one reference.
/// </summary>
/// <remarks>
/// Work goes out in 4 MB chunks through <see cref="Parallel.For(int, int, Action{int})"/> rather than one fixed share
/// per thread: on a shared host a thread that loses its core for a while holds up a fixed share to the end, and
/// the bench's earlier fixed-share sum (256-bit vectors through span slices) read 17.1-17.7 GB/s where this one
/// read 21.5-25.8 on the same 2-core AVX-512 machine: a reference that low made the kernels' shares of it look
/// better than they were. For small integers (at most 15) every float32 partial of a chunk is exact (a chunk's
/// total stays below 2^24), which the tests use; the chunks add in float64.
/// </remarks>
public static class HostReadStream
{
    /// <summary>Floats per parallel work item (4 MB).</summary>
    public const int Chunk = 1 << 20;

    /// <summary>The sum of <paramref name="values"/>: every element read once.</summary>
    public static double Sum(float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var chunks = (values.Length + Chunk - 1) / Chunk;
        var partial = new double[chunks];
        Parallel.For(0, chunks, i =>
        {
            var start = i * Chunk;
            partial[i] = SumRange(values.AsSpan(start, Math.Min(Chunk, values.Length - start)));
        });
        var total = 0.0;
        foreach (var p in partial) total += p;
        return total;
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="target"/> (same length): every element read
    /// once and written once, one contiguous share a thread.</summary>
    /// <remarks>Shares, not 4 MB chunks: the runtime copies a span that large with stores that bypass the cache,
    /// which neither read the target's lines first nor evict the source; 4 MB chunks are copied through the cache
    /// and measured 24 GB/s (read + written) on the 2-core AVX-512 machine where shares measured 38-39.</remarks>
    public static void Copy(float[] source, float[] target)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (target.Length != source.Length) throw new ArgumentException($"target holds {target.Length} floats, source {source.Length}: they must be the same length", nameof(target));
        var threads = Environment.ProcessorCount;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var size = source.Length / threads;
            var start = t * size;
            var length = t == threads - 1 ? source.Length - start : size;
            source.AsSpan(start, length).CopyTo(target.AsSpan(start, length));
        });
    }

    /// <summary>Four independent vector accumulators (the load ports busy, not the add latency), the widest
    /// vectors the hardware runs, then a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float SumRange(ReadOnlySpan<float> values)
    {
        ref var r = ref MemoryMarshal.GetReference(values);
        var i = 0;
        var total = 0f;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a = default, b = default, c = default, d = default;
            for (; i + 64 <= values.Length; i += 64)
            {
                a += Vector512.LoadUnsafe(ref r, (nuint)i);
                b += Vector512.LoadUnsafe(ref r, (nuint)(i + 16));
                c += Vector512.LoadUnsafe(ref r, (nuint)(i + 32));
                d += Vector512.LoadUnsafe(ref r, (nuint)(i + 48));
            }
            total = Vector512.Sum(a + b + c + d);
        }
        else if (PortableVector256.IsFast)
        {
            Vector256<float> a = default, b = default, c = default, d = default;
            for (; i + 32 <= values.Length; i += 32)
            {
                a += Vector256.LoadUnsafe(ref r, (nuint)i);
                b += Vector256.LoadUnsafe(ref r, (nuint)(i + 8));
                c += Vector256.LoadUnsafe(ref r, (nuint)(i + 16));
                d += Vector256.LoadUnsafe(ref r, (nuint)(i + 24));
            }
            total = Vector256.Sum(a + b + c + d);
        }
        for (; i < values.Length; i++) total += Unsafe.Add(ref r, i);
        return total;
    }
}
