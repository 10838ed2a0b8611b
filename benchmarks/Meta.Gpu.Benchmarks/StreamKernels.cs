using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Benchmarks;

/// <summary>
/// The bandwidth reference of DESIGN §13: a vectorised multi-threaded sum (a pure read stream) and a parallel
/// copy, over the same number of threads the cpu backend uses.
/// </summary>
public static class StreamKernels
{
    private const int Chunk = 1 << 20;

    public static double Sum(float[] values)
    {
        var chunks = (values.Length + Chunk - 1) / Chunk;
        var partial = new double[chunks];
        Parallel.For(0, chunks, i =>
        {
            var start = i * Chunk;
            partial[i] = SumRange(values.AsSpan(start, Math.Min(Chunk, values.Length - start)));
        });
        return partial.Sum();
    }

    public static void Copy(float[] source, float[] target)
    {
        var chunks = (source.Length + Chunk - 1) / Chunk;
        Parallel.For(0, chunks, i =>
        {
            var start = i * Chunk;
            var length = Math.Min(Chunk, source.Length - start);
            source.AsSpan(start, length).CopyTo(target.AsSpan(start, length));
        });
    }

    private static double SumRange(ReadOnlySpan<float> values)
    {
        ref var r = ref MemoryMarshal.GetReference(values);
        var i = 0;
        float tail = 0;
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
            tail = Vector512.Sum(a + b + c + d);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a = default, b = default, c = default, d = default;
            for (; i + 32 <= values.Length; i += 32)
            {
                a += Vector256.LoadUnsafe(ref r, (nuint)i);
                b += Vector256.LoadUnsafe(ref r, (nuint)(i + 8));
                c += Vector256.LoadUnsafe(ref r, (nuint)(i + 16));
                d += Vector256.LoadUnsafe(ref r, (nuint)(i + 24));
            }
            tail = Vector256.Sum(a + b + c + d);
        }
        for (; i < values.Length; i++) tail += Unsafe.Add(ref r, i);
        return tail;
    }
}
