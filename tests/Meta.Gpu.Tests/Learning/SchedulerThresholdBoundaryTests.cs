using System.Text.Json.Nodes;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>DESIGN §9 at its bounds: the latency rules are strict (exactly at the target, or exactly at target x
/// headroom, the interval stays), a missing latency reads as the target, the decay never goes below one window,
/// and a count already past an interval that just shrank fires at once.</summary>
public sealed class SchedulerThresholdBoundaryTests
{
    private static readonly SchedulerConfig NoJitter = new(Jitter: 0);

    private static bool Step(MetaScheduler scheduler, SchedulerTelemetry telemetry)
    {
        scheduler.RecordWindow();
        return scheduler.ShouldUpdate(telemetry);
    }

    [Fact]
    public void Latency_exactly_at_the_target_neither_slows_nor_speeds()
    {
        var scheduler = new MetaScheduler(NoJitter);
        Step(scheduler, new SchedulerTelemetry(LatencyMs: NoJitter.LatencyTargetMs));
        Assert.Equal(10, scheduler.IntervalWindows);

        Step(scheduler, new SchedulerTelemetry(LatencyMs: Math.BitIncrement(NoJitter.LatencyTargetMs)));
        Assert.Equal(7, scheduler.IntervalWindows);
    }

    [Fact]
    public void Latency_exactly_at_the_headroom_does_not_speed_up()
    {
        var headroom = NoJitter.LatencyTargetMs * NoJitter.LatencyHeadroomFactor;
        var scheduler = new MetaScheduler(NoJitter);
        Step(scheduler, new SchedulerTelemetry(LatencyMs: headroom));
        Assert.Equal(10, scheduler.IntervalWindows);

        Step(scheduler, new SchedulerTelemetry(LatencyMs: Math.BitDecrement(headroom)));
        Assert.Equal(8, scheduler.IntervalWindows);
    }

    [Fact]
    public void A_missing_latency_reads_as_the_target()
    {
        var scheduler = new MetaScheduler(NoJitter);
        for (var i = 0; i < 5; i++) scheduler.RecordWindow();
        scheduler.ShouldUpdate(new JsonObject());
        scheduler.ShouldUpdate(new JsonObject { ["latency_ms"] = null });
        scheduler.ShouldUpdate((JsonObject?)null);

        Assert.Equal(10, scheduler.IntervalWindows);
        Assert.Equal(5, scheduler.WindowsCounted);
    }

    [Fact]
    public void The_decay_never_takes_the_interval_below_one_window()
    {
        // floor(1 * 0.5) = 0: max(1, 0) = 1, and the scheduler fires every window.
        var scheduler = new MetaScheduler(NoJitter with { UpdateIntervalWindows = 1, MinIntervalWindows = 1, IntervalDecayFactor = 0.5 });
        for (var i = 0; i < 3; i++)
        {
            Assert.True(Step(scheduler, new SchedulerTelemetry(LatencyMs: 500)));
            Assert.Equal(1, scheduler.IntervalWindows);
        }
    }

    [Fact]
    public void Windows_counted_past_an_interval_that_shrank_fire_at_once()
    {
        var scheduler = new MetaScheduler(NoJitter);
        for (var i = 0; i < 5; i++) Assert.False(Step(scheduler, new SchedulerTelemetry()));
        Assert.False(Step(scheduler, new SchedulerTelemetry(LatencyMs: 200))); // 10 -> 7, 6 windows counted

        Assert.True(Step(scheduler, new SchedulerTelemetry(LatencyMs: 200))); // 7 -> 4, 7 windows counted
        Assert.Equal(4, scheduler.IntervalWindows);
        Assert.Equal(0, scheduler.WindowsCounted);
    }
}
