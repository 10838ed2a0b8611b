using System.Diagnostics;

namespace Meta.Gpu.Cli.Bench;

/// <summary>Warm-up then timed repeats of one call, within a time budget per row.</summary>
/// <remarks>
/// Slow rows (numpy's sort over 64 x 1M floats takes seconds) would blow the run's few minutes, so: a warm-up
/// call that takes longer than <see cref="LongCall"/> ends the warm-up (one-off costs are small beside it), and
/// once <see cref="MinRepeats"/> calls are timed and the timed total passed the budget, the row stops early. The
/// row reports the repeats it actually timed. The peer scripts apply the same rule.
/// </remarks>
public static class Stopwatches
{
    public const int MinRepeats = 3;

    public static readonly TimeSpan LongCall = TimeSpan.FromSeconds(1);

    public static double[] Time(Action call, int warmup, int repeats, TimeSpan budget)
    {
        ArgumentNullException.ThrowIfNull(call);
        for (var i = 0; i < warmup; i++)
        {
            var w = Stopwatch.GetTimestamp();
            call();
            if (Stopwatch.GetElapsedTime(w) > LongCall) break;
        }
        var times = new List<double>(repeats);
        var total = TimeSpan.Zero;
        for (var i = 0; i < repeats; i++)
        {
            if (i >= MinRepeats && total > budget) break;
            var start = Stopwatch.GetTimestamp();
            call();
            var elapsed = Stopwatch.GetElapsedTime(start);
            total += elapsed;
            times.Add(elapsed.TotalMilliseconds);
        }
        return [.. times];
    }
}
