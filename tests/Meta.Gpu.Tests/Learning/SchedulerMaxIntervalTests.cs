using System.Text.Json.Nodes;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// <c>max_interval_windows</c>, the longest update interval (DESIGN §9): "(2) bandwidth_low -&gt; min(max, i +
/// interval_load_increment); (3) latency &lt; target * latency_headroom_factor and not vram_high -&gt; max(min,
/// round(i * interval_speedup_factor)); ... (5) clamp [min, max]. Then if the windows counted (the current one
/// included) &gt;= interval: reset the count, return true."
/// The reference traces never bring the interval to its upper bound (any max_interval_windows from 6 up leaves
/// them passing), so the bound is pinned here. No jitter: rule (4) is idle.
/// </summary>
public sealed class SchedulerMaxIntervalTests
{
    private static readonly SchedulerConfig NoJitter = new(Jitter: 0);

    /// <summary>Latency at the target (the default when absent): rules 1 and 3 are idle.</summary>
    private static readonly SchedulerTelemetry LowBandwidth = new(BandwidthLow: true);

    private static readonly SchedulerTelemetry Steady = new();

    private static bool Step(MetaScheduler scheduler, SchedulerTelemetry telemetry)
    {
        scheduler.RecordWindow();
        return scheduler.ShouldUpdate(telemetry);
    }

    [Fact]
    public void Low_bandwidth_lengthens_the_interval_to_max_interval_windows_and_it_stays_there()
    {
        // 10 + 2 = 12, 14, then min(15, 16) = 15, and 15 from there on.
        var scheduler = new MetaScheduler(NoJitter with { MaxIntervalWindows = 15 });
        var intervals = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            Step(scheduler, LowBandwidth);
            intervals.Add(scheduler.IntervalWindows);
        }

        Assert.Equal([12, 14, 15, 15, 15, 15], intervals);
    }

    [Fact]
    public void Rule_two_caps_at_max_before_the_speedup_reads_the_interval()
    {
        // i = 14, max 15, fast (10 ms < 80 * 0.7) and bandwidth low: rule 2 gives min(15, 16) = 15, rule 3
        // round(15 * 0.8) = 12. Capping only at the end would give round(16 * 0.8 = 12.8) = 13.
        var scheduler = new MetaScheduler(NoJitter with { UpdateIntervalWindows = 14, MaxIntervalWindows = 15 });

        Step(scheduler, new SchedulerTelemetry(LatencyMs: 10, BandwidthLow: true));

        Assert.Equal(12, scheduler.IntervalWindows);
    }

    [Fact]
    public void An_initial_interval_above_the_maximum_is_clamped_at_the_first_call()
    {
        // update_interval_windows 30 with max 20 and steady telemetry: rules 1-4 leave 30, rule 5 clamps to 20.
        var scheduler = new MetaScheduler(NoJitter with { UpdateIntervalWindows = 30, MaxIntervalWindows = 20 });

        Step(scheduler, Steady);

        Assert.Equal(20, scheduler.IntervalWindows);
    }

    [Fact]
    public void At_the_maximum_the_scheduler_fires_on_the_max_interval_windows_th_window()
    {
        // Interval 20 (clamped from 30): windows 1..19 do not fire, window 20 does and resets the count; the next
        // round fires again after 20 more.
        var scheduler = new MetaScheduler(NoJitter with { UpdateIntervalWindows = 30, MaxIntervalWindows = 20 });
        var fired = new List<int>();
        for (var window = 1; window <= 45; window++)
            if (Step(scheduler, Steady)) fired.Add(window);

        Assert.Equal([20, 40], fired);
        Assert.Equal(5, scheduler.WindowsCounted);
    }

    [Fact]
    public void A_maximum_equal_to_the_minimum_pins_the_interval_under_every_rule()
    {
        var scheduler = new MetaScheduler(NoJitter with { MinIntervalWindows = 4, MaxIntervalWindows = 4 });
        SchedulerTelemetry[] telemetry =
        [
            new(BandwidthLow: true), new(LatencyMs: 500), new(LatencyMs: 1), new(VramHigh: true, BandwidthLow: true), Steady,
        ];

        foreach (var t in telemetry)
        {
            Step(scheduler, t);
            Assert.Equal(4, scheduler.IntervalWindows);
        }
    }

    [Fact]
    public void Max_interval_windows_read_from_the_scheduler_section_bounds_the_interval()
    {
        var config = NoJitter.With(JsonNode.Parse("""{"max_interval_windows": 11}""")!.AsObject());
        var scheduler = new MetaScheduler(config);

        Step(scheduler, LowBandwidth); // min(11, 12) = 11
        Step(scheduler, LowBandwidth);

        Assert.Equal(11, scheduler.IntervalWindows);
    }
}
