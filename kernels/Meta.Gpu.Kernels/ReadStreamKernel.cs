using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The device's read stream (DESIGN §13's bandwidth reference, on the device): each thread sums a grid-strided
/// share of a float array and writes its partial sum; the host adds the partials. Thread t reads t, t + T,
/// t + 2T, ... (T threads), so consecutive threads read consecutive floats and every load coalesces; four
/// independent accumulators keep four loads in flight per thread instead of waiting on one add chain.
/// </summary>
public static class ReadStreamKernel
{
    /// <summary>Index = thread; the launch's extent is the thread count T = <c>partials.Length</c>.</summary>
    public static void Run(Index1D thread, ArrayView<float> values, ArrayView<float> partials)
    {
        var threads = (int)partials.Length;
        var count = (int)values.Length;
        var a0 = 0f;
        var a1 = 0f;
        var a2 = 0f;
        var a3 = 0f;
        var i = (int)thread;
        // No overflow in i + 3T: the caller keeps count at most 2^30 floats (4 GB) and T far below 2^29.
        for (; i + 3 * threads < count; i += 4 * threads)
        {
            a0 += values[i];
            a1 += values[i + threads];
            a2 += values[i + 2 * threads];
            a3 += values[i + 3 * threads];
        }
        for (; i < count; i += threads) a0 += values[i];
        partials[thread] = (a0 + a1) + (a2 + a3);
    }

    /// <summary>Index = thread, of <paramref name="threads"/>, grid-strided as <see cref="Run"/>: writes the pattern
    /// <see cref="Pattern"/> on the device (no upload, no zeros). Strided rather than one thread per element: ILGPU's
    /// CPU accelerator, which the tests run, pays microseconds per thread.</summary>
    public static void Fill(Index1D thread, int threads, ArrayView<float> values)
    {
        var count = (int)values.Length;
        for (var i = (int)thread; i < count; i += threads) values[i] = Pattern(i);
    }

    /// <summary>
    /// The value at <paramref name="index"/>: 1 + index mod 7, a small non-zero integer. Its period is prime to
    /// every power-of-two stride, so a read that skips, repeats or misplaces elements changes the total.
    /// </summary>
    public static float Pattern(int index) => 1 + index % 7;
}
