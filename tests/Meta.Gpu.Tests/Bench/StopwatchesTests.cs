using Meta.Gpu.Cli.Bench;

namespace Meta.Gpu.Tests.Bench;

/// <summary>The harness's warm-up reaches the optimised code: past the asked count until it has run long enough.</summary>
public sealed class StopwatchesTests
{
    [Fact]
    public void A_fast_call_warms_up_past_the_asked_count_for_the_whole_warmup_time_then_times_the_repeats()
    {
        // Fast calls reach the optimised code only once the runtime's quiet period has passed: the warm-up runs
        // for its time, however many calls that takes (a cap of 60 calls ended it after a few milliseconds).
        var calls = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var times = Stopwatches.Time(() => { calls++; Thread.SpinWait(100); }, warmup: 1, repeats: 5, budget: TimeSpan.FromSeconds(10));
        Assert.Equal(5, times.Length);
        Assert.True(clock.Elapsed >= Stopwatches.SteadyWarmup, $"warm-up and repeats took {clock.Elapsed}");
        Assert.True(calls > 1000, $"{calls} calls");
    }

    [Fact]
    public void No_warmup_asked_means_none()
    {
        var calls = 0;
        var times = Stopwatches.Time(() => calls++, warmup: 0, repeats: 4, budget: TimeSpan.FromSeconds(10));
        Assert.Equal(4, times.Length);
        Assert.Equal(4, calls);
    }

    [Fact]
    public void The_warmup_stops_once_it_has_run_long_enough()
    {
        var calls = 0;
        Stopwatches.Time(() => { calls++; Thread.Sleep(60); }, warmup: 1, repeats: 3, budget: TimeSpan.FromSeconds(10));
        // 500 ms of calls of at least 60 ms: at most nine warm-up calls (fewer on a busy machine), more than the
        // one asked, far below the cap.
        Assert.InRange(calls - 3, 2, (int)(Stopwatches.SteadyWarmup.TotalMilliseconds / 60) + 1);
    }

    [Fact]
    public void A_row_stops_once_it_has_three_repeats_and_their_total_has_passed_the_budget_not_reached_it()
    {
        // benchmarks/README.md: "a row whose timed calls pass 10 s stops at 3".
        var budget = TimeSpan.FromSeconds(10);
        var past = budget + TimeSpan.FromTicks(1);

        Assert.False(Stopwatches.BudgetSpent(Stopwatches.MinRepeats - 1, TimeSpan.FromHours(1), budget));
        Assert.False(Stopwatches.BudgetSpent(Stopwatches.MinRepeats, budget, budget));
        Assert.True(Stopwatches.BudgetSpent(Stopwatches.MinRepeats, past, budget));
        Assert.True(Stopwatches.BudgetSpent(Stopwatches.MinRepeats + 1, past, budget));
    }
}
