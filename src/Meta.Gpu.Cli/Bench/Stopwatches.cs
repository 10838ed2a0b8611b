using System.Diagnostics;

namespace Meta.Gpu.Cli.Bench;

/// <summary>Warm-up then timed repeats of one call.</summary>
public static class Stopwatches
{
    /// <summary>Runs <paramref name="call"/> <paramref name="warmup"/> times untimed, then <paramref name="repeats"/> times, returning each timed call's milliseconds.</summary>
    public static double[] Time(Action call, int warmup, int repeats)
    {
        ArgumentNullException.ThrowIfNull(call);
        for (var i = 0; i < warmup; i++) call();
        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var start = Stopwatch.GetTimestamp();
            call();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return times;
    }
}
