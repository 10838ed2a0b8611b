using System.Diagnostics;
using Meta.Gpu.Compute;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The bandwidth reference of DESIGN §13, measured in the same run: <see cref="HostReadStream"/>'s vectorised
/// multi-threaded sum over a float32 array (256 MB by default) gives the read bandwidth (bytes read / time); its
/// copy into a second array of the same size gives the copy bandwidth (bytes read + written / time). The
/// BenchmarkDotNet suite's <c>ReadBandwidth</c> times the same two.
/// </summary>
/// <remarks>
/// The arrays are filled before timing: a fresh array's pages all map the kernel's zero page until written, and
/// summing them would read one cached page instead of memory. Each figure is the fastest of the repeats (the
/// ceiling this machine reached in this run); other load on the machine only slows a repeat down.
/// </remarks>
public static class MemoryBandwidth
{
    public readonly record struct Measurement(double ReadGbs, double CopyGbs, int ArrayMegabytes, int Threads);

    /// <summary>The read and copy bandwidth over <paramref name="source"/> (from <see cref="FilledArray"/>), copied into
    /// a second array of its size.</summary>
    public static Measurement Measure(float[] source, int repeats)
    {
        ArgumentNullException.ThrowIfNull(source);
        var threads = Environment.ProcessorCount;
        var target = new float[source.Length];
        Parallel.For(0, threads, t =>
        {
            var (start, length) = Slice(target.Length, threads, t);
            target.AsSpan(start, length).Fill(1f);
        });

        var bytes = (double)source.Length * sizeof(float);
        double bestRead = 0, bestCopy = 0;
        var sum = 0.0;
        for (var r = 0; r < Math.Max(repeats, 1) + 1; r++)
        {
            var read = TimedRead(source, ref sum);

            var start = Stopwatch.GetTimestamp();
            HostReadStream.Copy(source, target);
            var copy = 2 * bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
            if (r == 0) continue; // the first pass warms the thread pool and the JIT
            bestRead = Math.Max(bestRead, read);
            bestCopy = Math.Max(bestCopy, copy);
        }
        // The sums must be observable or the JIT could drop the loop.
        GC.KeepAlive(sum);
        return new Measurement(bestRead, bestCopy, (int)((long)source.Length * sizeof(float) / (1024 * 1024)), threads);
    }

    /// <summary>The read bandwidth alone over <paramref name="source"/>: the fastest of <paramref name="repeats"/> timed
    /// sums after an untimed one.</summary>
    public static double ReadGbs(float[] source, int repeats)
    {
        ArgumentNullException.ThrowIfNull(source);
        double best = 0;
        var sum = 0.0;
        for (var r = 0; r < Math.Max(repeats, 1) + 1; r++)
        {
            var read = TimedRead(source, ref sum);
            if (r > 0) best = Math.Max(best, read);
        }
        GC.KeepAlive(sum);
        return best;
    }

    /// <summary>One pass of <see cref="HostReadStream.Sum"/> over <paramref name="source"/>, in GB/s; its sum is added
    /// to <paramref name="sum"/>, which the caller keeps observable.</summary>
    private static double TimedRead(float[] source, ref double sum)
    {
        var start = Stopwatch.GetTimestamp();
        sum += HostReadStream.Sum(source);
        return (double)source.Length * sizeof(float) / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
    }

    /// <summary>A float32 array of <paramref name="megabytes"/> MB, every page written (see the remarks above).</summary>
    public static float[] FilledArray(int megabytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(megabytes, 1);
        var floats = (int)((long)megabytes * 1024 * 1024 / sizeof(float));
        var threads = Environment.ProcessorCount;
        var source = new float[floats];
        Parallel.For(0, threads, t =>
        {
            var (start, length) = Slice(floats, threads, t);
            var span = source.AsSpan(start, length);
            for (var i = 0; i < span.Length; i++) span[i] = (i & 1023) * 1e-3f;
        });
        return source;
    }

    private static (int Start, int Length) Slice(int count, int parts, int part)
    {
        var size = count / parts;
        var start = part * size;
        return (start, part == parts - 1 ? count - start : size);
    }
}
