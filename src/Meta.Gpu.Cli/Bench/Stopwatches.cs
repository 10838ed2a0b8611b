using System.Diagnostics;

namespace Meta.Gpu.Cli.Bench;

/// <summary>Warm-up then timed repeats of one call, within a time budget per row.</summary>
/// <remarks>
/// Slow rows (numpy's sort over 64 x 1M floats takes seconds) would blow the run's few minutes, so: a warm-up
/// call that takes longer than <see cref="LongCall"/> ends the warm-up (one-off costs are small beside it), and
/// once <see cref="MinRepeats"/> calls are timed and the timed total passed the budget, the row stops early. The
/// row reports the repeats it actually timed. The peer scripts apply the same rule.
/// In process, the warm-up also runs on (past the asked count) until it has taken <see cref="SteadyWarmup"/> or
/// <see cref="MaxWarmupCalls"/> calls: .NET first runs a method as quickly compiled code and swaps in the
/// optimised code only after about 30 calls and a quiet 100 ms, so a one-call warm-up would time code a user's
/// steady state never runs (a fast row like the one-row Reptile step measured several times slower that way).
/// </remarks>
public static class Stopwatches
{
    public const int MinRepeats = 3;

    public static readonly TimeSpan LongCall = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan SteadyWarmup = TimeSpan.FromMilliseconds(500);

    public const int MaxWarmupCalls = 60;

    public static double[] Time(Action call, int warmup, int repeats, TimeSpan budget)
    {
        ArgumentNullException.ThrowIfNull(call);
        var warmed = TimeSpan.Zero;
        for (var i = 0; i < warmup || (warmup > 0 && warmed < SteadyWarmup && i < MaxWarmupCalls); i++)
        {
            var w = Stopwatch.GetTimestamp();
            call();
            var elapsed = Stopwatch.GetElapsedTime(w);
            if (elapsed > LongCall) break;
            warmed += elapsed;
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
