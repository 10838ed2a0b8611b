using Meta.Gpu.Cli.Bench;

namespace Meta.Gpu.Tests.Bench;

/// <summary>The harness's warm-up reaches the optimised code: past the asked count until it has run long enough.</summary>
public sealed class StopwatchesTests
{
    [Fact]
    public void A_fast_call_warms_up_past_the_asked_count_then_times_the_repeats()
    {
        var calls = 0;
        var times = Stopwatches.Time(() => calls++, warmup: 1, repeats: 5, budget: TimeSpan.FromSeconds(10));
        Assert.Equal(5, times.Length);
        // Sub-microsecond calls never reach the warm-up time, so the call cap ends the warm-up.
        Assert.Equal(Stopwatches.MaxWarmupCalls + 5, calls);
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
}
