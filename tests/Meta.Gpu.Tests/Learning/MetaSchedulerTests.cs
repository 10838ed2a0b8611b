using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

public sealed class MetaSchedulerTests
{
    private static readonly SchedulerConfig NoJitter = new(Jitter: 0);

    private static bool Step(MetaScheduler scheduler, SchedulerTelemetry telemetry)
    {
        scheduler.RecordWindow();
        return scheduler.ShouldUpdate(telemetry);
    }

    [Fact]
    public void Fires_when_the_windows_reach_the_interval_and_resets_the_count()
    {
        var scheduler = new MetaScheduler(NoJitter with { UpdateIntervalWindows = 3 });
        var steady = new SchedulerTelemetry(LatencyMs: 70);

        Assert.False(Step(scheduler, steady));
        Assert.False(Step(scheduler, steady));
        Assert.True(Step(scheduler, steady));
        Assert.Equal(0, scheduler.WindowsCounted);
        Assert.False(Step(scheduler, steady));
    }

    /// <summary>NaN is neither above the target nor below the headroom, so it would pass without a word; the agent's
    /// round input refuses the same value by name.</summary>
    [Fact]
    public void A_non_finite_latency_is_refused_by_name()
    {
        var scheduler = new MetaScheduler(NoJitter);
        var error = Assert.Throws<InvalidInputException>(() =>
            scheduler.ShouldUpdate(System.Text.Json.Nodes.JsonNode.Parse("""{"latency_ms": "nan"}""")!.AsObject()));
        Assert.Contains("telemetry.latency_ms", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rules_apply_in_turn_not_else_if()
    {
        // i = 10: latency high -> floor(7) = 7; bandwidth low -> 9. Rule 3 does not apply (latency high).
        var scheduler = new MetaScheduler(NoJitter);
        Step(scheduler, new SchedulerTelemetry(LatencyMs: 200, BandwidthLow: true));
        Assert.Equal(9, scheduler.IntervalWindows);

        // Fast and bandwidth low: 9 + 2 = 11, then round(11 * 0.8 = 8.8) = 9.
        Step(scheduler, new SchedulerTelemetry(LatencyMs: 10, BandwidthLow: true));
        Assert.Equal(9, scheduler.IntervalWindows);
    }

    [Fact]
    public void Rounding_is_half_to_even()
    {
        // round(5 * 0.9 = 4.5) = 4 (to even), round(7 * 0.5 = 3.5) = 4.
        var down = new MetaScheduler(NoJitter with { UpdateIntervalWindows = 5, IntervalSpeedupFactor = 0.9, MinIntervalWindows = 1 });
        Step(down, new SchedulerTelemetry(LatencyMs: 0));
        Assert.Equal(4, down.IntervalWindows);

        var up = new MetaScheduler(NoJitter with { UpdateIntervalWindows = 7, IntervalSpeedupFactor = 0.5, MinIntervalWindows = 1 });
        Step(up, new SchedulerTelemetry(LatencyMs: 0));
        Assert.Equal(4, up.IntervalWindows);
    }

    [Fact]
    public void Jitter_draws_from_the_injected_source_and_is_clamped()
    {
        // u = 0.75: 1 + (-0.2 + 0.4 * 0.75) = 1.1; 10 * 1.1 = 11 (latency at target: rules 1-3 idle).
        var scheduler = new MetaScheduler(new SchedulerConfig(Jitter: 0.2), () => 0.75);
        Step(scheduler, new SchedulerTelemetry());
        Assert.Equal(11, scheduler.IntervalWindows);

        var low = new MetaScheduler(new SchedulerConfig(UpdateIntervalWindows: 3, Jitter: 0.5), () => 0.0);
        Step(low, new SchedulerTelemetry());
        Assert.Equal(3, low.IntervalWindows); // round(1.5) = 2, clamped to min 3
    }

    [Fact]
    public void Vram_high_shortens_and_blocks_the_speedup()
    {
        var scheduler = new MetaScheduler(NoJitter);
        Step(scheduler, new SchedulerTelemetry(LatencyMs: 10, VramHigh: true));
        Assert.Equal(7, scheduler.IntervalWindows);
    }

    [Fact]
    public void Telemetry_reads_from_json_with_numeric_booleans()
    {
        var scheduler = new MetaScheduler(NoJitter);
        scheduler.RecordWindow();
        scheduler.ShouldUpdate(System.Text.Json.Nodes.JsonNode.Parse("""{"vram_high": 1.0, "latency_ms": 50}""")!.AsObject());
        Assert.Equal(7, scheduler.IntervalWindows);
    }
}
