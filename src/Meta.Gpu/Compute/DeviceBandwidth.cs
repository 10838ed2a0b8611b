using System.Diagnostics;
using System.Globalization;
using ILGPU;
using ILGPU.Runtime;
using Meta.Gpu.Kernels;

namespace Meta.Gpu.Compute;

/// <summary>
/// The bandwidth reference of DESIGN §13 measured on a device backend's own memory: a read stream (every thread
/// sums a grid-strided share of a float32 array, <see cref="ReadStreamKernel"/>; bytes read / time) and a
/// device-to-device copy into a second array of the same size (bytes read + written / time). A device row's
/// share of read is its bandwidth over this figure, not over the host's.
/// </summary>
/// <remarks>
/// <para>Size: <see cref="DefaultMegabytes"/> (1024 MB) by default. On an H100/H200 (3-5 TB/s) one pass over
/// 1 GB takes a few hundred microseconds, far above the launch and synchronisation overhead (microseconds) the
/// timing includes, and the array is twenty times the 50-60 MB L2 cache, so the figure is memory's, not the
/// cache's. The copy needs a second array: 2 x the size must be free on the device.</para>
/// <para>Data: the array is filled on the device with 1 + i mod 7 (<see cref="ReadStreamKernel.Pattern"/>)
/// before anything is timed (never zeros, which some memory systems serve without reading). The values are
/// small integers and no thread adds more than 2^20 of them, so every float32 accumulator stays below 2^24 and
/// is exact: the device's total must equal the host's closed form exactly. Every timed read pass is checked
/// (its partials cleared before the pass, so a kernel that writes nothing cannot pass on an earlier pass's
/// sums), and the copy is checked by reading its target after the last copy; a mismatch throws rather than
/// report a bandwidth for a kernel that did not read what it was timed on.</para>
/// <para>Timing: launch + synchronize around each pass on the host's <see cref="Stopwatch"/>, after one untimed
/// pass of each (module load, first-touch of the buffers). Each figure is the best of the repeats, as
/// <c>MemoryBandwidth</c> reports the host's: the ceiling the device reached in this run; other work on the
/// device only slows a repeat down.</para>
/// <para>The buffers are freed before returning and are not recorded in the device allocation ledger: they
/// exist only for the measurement, under the backend's gate, between its calls.</para>
/// </remarks>
public static class DeviceBandwidth
{
    /// <summary>The default array size on a GPU (see the remarks).</summary>
    public const int DefaultMegabytes = 1024;

    /// <summary>The largest array: 4 GB (2^30 floats) keeps every index of the read kernel within 32 bits.</summary>
    public const int MaxMegabytes = 4096;

    /// <summary>Most floats one thread adds, so that its float32 sums of the pattern stay exact (below 2^24).</summary>
    public const int MaxFloatsPerThread = 1 << 20;

    /// <summary>One measurement: read and copy GB/s (10^9 bytes per second), the array size, the device's name.</summary>
    public readonly record struct Measurement(double ReadGbs, double CopyGbs, int Megabytes, string DeviceName);

    /// <summary>
    /// Measures <paramref name="backend"/>'s device: <paramref name="repeats"/> timed read passes and as many
    /// copies over a <paramref name="megabytes"/> MB float32 array, each figure the best of its repeats. Runs under
    /// the backend's gate (no call of the backend overlaps it). Throws <see cref="ArgumentOutOfRangeException"/>
    /// for a size outside [1, <see cref="MaxMegabytes"/>] or fewer than one repeat, and
    /// <see cref="InvalidOperationException"/> when the device lacks the memory or its total does not match the
    /// data (a broken read or copy).
    /// </summary>
    public static Measurement Measure(IlgpuBackend backend, int megabytes = DefaultMegabytes, int repeats = 5)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (megabytes is < 1 or > MaxMegabytes)
            throw new ArgumentOutOfRangeException(nameof(megabytes), megabytes, $"the array size must be 1 to {MaxMegabytes} MB");
        if (repeats < 1)
            throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "at least one timed repeat is needed");
        return backend.OnDevice(device => Measure(device, megabytes, repeats));
    }

    /// <summary>The sum of <see cref="ReadStreamKernel.Pattern"/> over the first <paramref name="count"/> elements
    /// (28 per full period of 1..7, then 1 + 2 + ... + r for the r left over).</summary>
    public static double ExpectedSum(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rest = count % 7;
        return 28.0 * (count / 7) + rest * (rest + 1) / 2;
    }

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> unless the device's <paramref name="total"/> is
    /// <paramref name="expected"/>. Both are integers held exactly (see the remarks), so the tolerance is half a
    /// unit: a relative float tolerance would let a kernel that skips or repeats a few elements pass.
    /// </summary>
    public static void CheckTotal(double total, double expected, string what)
    {
        if (Math.Abs(total - expected) <= 0.5) return;
        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
            $"{what}: the device summed {total:R}, the data sums to {expected:R}; no bandwidth is reported for a stream that did not read its data"));
    }

    /// <summary>Threads of the read stream: enough to fill the device (every multiprocessor at its thread
    /// capacity), and at least enough that none adds more than <see cref="MaxFloatsPerThread"/> floats.</summary>
    public static int ReadThreads(long floats, int multiprocessors, int threadsPerMultiprocessor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(floats, 1);
        var resident = (long)Math.Max(multiprocessors, 1) * Math.Max(threadsPerMultiprocessor, 1);
        var exact = (floats + MaxFloatsPerThread - 1) / MaxFloatsPerThread;
        return (int)Math.Min(Math.Max(resident, exact), floats);
    }

    private static Measurement Measure(KernelAccelerator device, int megabytes, int repeats)
    {
        var accelerator = device.Accelerator;
        var stream = accelerator.DefaultStream;
        var floats = (long)megabytes * 1024 * 1024 / sizeof(float);
        var bytes = (double)floats * sizeof(float);
        var threads = ReadThreads(floats, accelerator.NumMultiprocessors, accelerator.MaxNumThreadsPerMultiprocessor);

        var need = 2 * (long)bytes + (long)threads * sizeof(float);
        var free = device.FreeMemoryBytes();
        if (need > free)
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{device.DeviceName}: the bandwidth measurement needs {need / (1 << 20)} MB of device memory (two {megabytes} MB arrays), {free / (1 << 20)} MB are free; measure a smaller array"));

        var read = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(ReadStreamKernel.Run);
        var fill = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>>(ReadStreamKernel.Fill);
        using var source = accelerator.Allocate1D<float>(floats);
        using var target = accelerator.Allocate1D<float>(floats);
        using var partials = accelerator.Allocate1D<float>(threads);
        ArrayView<float> sourceView = source.View;
        ArrayView<float> targetView = target.View;
        ArrayView<float> partialView = partials.View;
        var host = new float[threads];
        var expected = ExpectedSum(floats);

        fill(threads, threads, sourceView);
        stream.Synchronize();

        double bestRead = 0, bestCopy = 0;
        // Pass 0 is the untimed warm-up of each.
        for (var pass = 0; pass <= repeats; pass++)
        {
            partialView.MemSetToZero(stream);
            stream.Synchronize();
            var start = Stopwatch.GetTimestamp();
            read(threads, sourceView, partialView);
            stream.Synchronize();
            var readSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            CheckTotal(Total(stream, partialView, host), expected, $"{device.DeviceName}: read pass {pass}");

            targetView.MemSetToZero(stream);
            stream.Synchronize();
            start = Stopwatch.GetTimestamp();
            sourceView.CopyTo(stream, targetView);
            stream.Synchronize();
            var copySeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

            if (pass == 0) continue;
            bestRead = Math.Max(bestRead, bytes / readSeconds / 1e9);
            bestCopy = Math.Max(bestCopy, 2 * bytes / copySeconds / 1e9);
        }

        partialView.MemSetToZero(stream);
        read(threads, targetView, partialView);
        stream.Synchronize();
        CheckTotal(Total(stream, partialView, host), expected, $"{device.DeviceName}: copy");
        return new Measurement(bestRead, bestCopy, megabytes, device.DeviceName);
    }

    /// <summary>The partials added on the host in float64 (exact: integers far below 2^53).</summary>
    private static double Total(AcceleratorStream stream, ArrayView<float> partials, float[] host)
    {
        Copy.ToHost(stream, partials, host);
        var total = 0.0;
        foreach (var p in host) total += p;
        return total;
    }
}
