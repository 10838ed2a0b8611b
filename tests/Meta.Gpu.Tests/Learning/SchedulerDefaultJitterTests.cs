using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The default of <c>jitter</c> (DESIGN §9: "Config `scheduler`: ... jitter 0.1"). Every other jitter test sets j
/// itself and the reference traces run with jitter 0, so the default was pinned by nothing. A long interval (1,000
/// windows, maximum 2,000) makes a change of the default by a thousandth show: with latency at the target (rules 1-3
/// idle) the lowest draw r = 0 gives u = -0.1 and round(1000 * 0.9) = 900, the draw r = 0.75 gives u = +0.05 and
/// 1050.
/// </summary>
public sealed class SchedulerDefaultJitterTests
{
    private static readonly SchedulerConfig LongInterval = new(UpdateIntervalWindows: 1000, MaxIntervalWindows: 2000);

    private static int IntervalAfterOneWindow(SchedulerConfig config, double draw)
    {
        var scheduler = new MetaScheduler(config, () => draw);
        scheduler.RecordWindow();
        scheduler.ShouldUpdate(new SchedulerTelemetry());
        return scheduler.IntervalWindows;
    }

    [Fact]
    public void The_default_jitter_spreads_the_interval_by_one_tenth_either_way()
    {
        Assert.Equal(0.1, LongInterval.Jitter);
        Assert.Equal(900, IntervalAfterOneWindow(LongInterval, 0.0));
        Assert.Equal(1050, IntervalAfterOneWindow(LongInterval, 0.75));
    }

    [Fact]
    public void A_scheduler_section_without_jitter_keeps_the_default()
    {
        var config = MetaLearningConfig.FromJson("""{"scheduler": {"update_interval_windows": 1000, "max_interval_windows": 2000}}""").Scheduler;

        Assert.Equal(900, IntervalAfterOneWindow(config, 0.0));
    }
}
