using System.Diagnostics;

namespace Meta.Gpu.Cli.Bench;

/// <summary>Warm-up then timed repeats of one call, within a time budget per row.</summary>
/// <remarks>
/// Slow rows (numpy's sort over 64 x 1M floats takes seconds) would blow the run's few minutes, so: a warm-up
/// call that takes longer than <see cref="LongCall"/> ends the warm-up (one-off costs are small beside it), and
/// once <see cref="MinRepeats"/> calls are timed and the timed total passed the budget, the row stops early. The
/// row reports the repeats it actually timed. The peer scripts apply the same rule.
/// In process, the warm-up also runs on (past the asked count) until <see cref="SteadyWarmup"/> has passed: .NET
/// first runs a method as quickly compiled code and swaps in the optimised code only after about 30 calls and a
/// quiet 100 ms (a loop inside may run instrumented or on-stack-replaced code for a while longer), so a short
/// warm-up times code a user's steady state never runs. A one-call warm-up timed the one-row Reptile step several
/// times slower; a 60-call cap (the rule until the tenth session) still timed the cpu weighted mean at 16 x 100,000
/// at 2.0 ms against 0.3 ms once warm, on the 2-core development machine.
/// </remarks>
public static class Stopwatches
{
    public const int MinRepeats = 3;

    public static readonly TimeSpan LongCall = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan SteadyWarmup = TimeSpan.FromMilliseconds(500);

    public static double[] Time(Action call, int warmup, int repeats, TimeSpan budget)
    {
        ArgumentNullException.ThrowIfNull(call);
        var warmStart = Stopwatch.GetTimestamp();
        for (var i = 0; i < warmup || (warmup > 0 && Stopwatch.GetElapsedTime(warmStart) < SteadyWarmup); i++)
        {
            var w = Stopwatch.GetTimestamp();
            call();
            if (Stopwatch.GetElapsedTime(w) > LongCall) break;
        }
        var times = new RowRepeats(repeats, budget);
        while (times.More)
        {
            var start = Stopwatch.GetTimestamp();
            call();
            times.Add(Stopwatch.GetElapsedTime(start));
        }
        return [.. times.Milliseconds];
    }

    /// <summary>Whether a row that has timed <paramref name="timed"/> repeats, <paramref name="total"/> in all, stops
    /// here: the rule of <see cref="RowRepeats"/>.</summary>
    public static bool BudgetSpent(int timed, TimeSpan total, TimeSpan budget) => timed >= MinRepeats && total > budget;
}
