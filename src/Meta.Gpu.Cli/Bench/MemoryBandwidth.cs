using System.Diagnostics;
using System.Numerics;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The bandwidth reference of DESIGN §13, measured in the same run: a vectorised multi-threaded sum over a float32
/// array (256 MB by default) gives the read bandwidth (bytes read / time); a multi-threaded copy into a second array
/// of the same size gives the copy bandwidth (bytes read + written / time).
/// </summary>
/// <remarks>
/// The arrays are filled before timing: a fresh array's pages all map the kernel's zero page until written, and
/// summing them would read one cached page instead of memory. Each figure is the fastest of the repeats (the
/// ceiling this machine reached in this run); other load on the machine only slows a repeat down.
/// </remarks>
public static class MemoryBandwidth
{
    public readonly record struct Measurement(double ReadGbs, double CopyGbs, int ArrayMegabytes, int Threads);

    public static Measurement Measure(int megabytes, int repeats)
    {
        var floats = (int)((long)megabytes * 1024 * 1024 / sizeof(float));
        var threads = Environment.ProcessorCount;
        var source = new float[floats];
        var target = new float[floats];
        Parallel.For(0, threads, t =>
        {
            var (start, length) = Slice(floats, threads, t);
            var span = source.AsSpan(start, length);
            for (var i = 0; i < span.Length; i++) span[i] = (i & 1023) * 1e-3f;
            target.AsSpan(start, length).Fill(1f);
        });

        var bytes = (double)floats * sizeof(float);
        double bestRead = 0, bestCopy = 0;
        var sums = new float[threads];
        for (var r = 0; r < Math.Max(repeats, 1) + 1; r++)
        {
            var start = Stopwatch.GetTimestamp();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var (s, l) = Slice(floats, threads, t);
                sums[t] = Sum(source.AsSpan(s, l));
            });
            var read = bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;

            start = Stopwatch.GetTimestamp();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var (s, l) = Slice(floats, threads, t);
                source.AsSpan(s, l).CopyTo(target.AsSpan(s, l));
            });
            var copy = 2 * bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
            if (r == 0) continue; // the first pass warms the thread pool and the JIT
            bestRead = Math.Max(bestRead, read);
            bestCopy = Math.Max(bestCopy, copy);
        }
        // The sums must be observable or the JIT could drop the loop.
        GC.KeepAlive(sums.Sum());
        return new Measurement(bestRead, bestCopy, megabytes, threads);
    }

    /// <summary>Sum with four independent vector accumulators (keeps the load ports busy, not the add latency).</summary>
    public static float Sum(ReadOnlySpan<float> values)
    {
        var width = Vector<float>.Count;
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var i = 0;
        for (; i + 4 * width <= values.Length; i += 4 * width)
        {
            a0 += new Vector<float>(values[i..]);
            a1 += new Vector<float>(values[(i + width)..]);
            a2 += new Vector<float>(values[(i + 2 * width)..]);
            a3 += new Vector<float>(values[(i + 3 * width)..]);
        }
        var total = Vector.Sum(a0 + a1 + a2 + a3);
        for (; i < values.Length; i++) total += values[i];
        return total;
    }

    private static (int Start, int Length) Slice(int count, int parts, int part)
    {
        var size = count / parts;
        var start = part * size;
        return (start, part == parts - 1 ? count - start : size);
    }
}
