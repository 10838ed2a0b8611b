using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// <see cref="MetaScheduler.ShouldUpdate(SchedulerTelemetry)"/> refuses a non-finite latency by name, as the JSON
/// overload and the agent's round input do: given as a record, NaN was neither above the target nor below the
/// headroom and passed without a word (the interval kept, the window counted as a steady one).
/// </summary>
public sealed class SchedulerRecordLatencyTests
{
    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_latency_record_is_refused_naming_it_and_changes_nothing(double latency)
    {
        var scheduler = new MetaScheduler(new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0));
        scheduler.RecordWindow();

        var error = Assert.Throws<InvalidInputException>(() => scheduler.ShouldUpdate(new SchedulerTelemetry(LatencyMs: latency)));

        Assert.Contains("telemetry.latency_ms", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, scheduler.IntervalWindows);
        Assert.Equal(1, scheduler.WindowsCounted);
    }

    [Theory]
    [InlineData(double.PositiveInfinity)] // adapted, it would shorten the interval as a latency above the target: 10 -> 7
    [InlineData(double.NegativeInfinity)] // and as one below the headroom: 10 -> 8
    public void A_non_finite_latency_is_refused_before_the_interval_adapts_to_it(double latency)
    {
        // The interval is left where it was (10), not adapted to the refused latency before the refusal.
        var scheduler = new MetaScheduler(new SchedulerConfig(Jitter: 0));
        scheduler.RecordWindow();

        Assert.Throws<InvalidInputException>(() => scheduler.ShouldUpdate(new SchedulerTelemetry(LatencyMs: latency)));

        Assert.Equal(10, scheduler.IntervalWindows);
        Assert.Equal(1, scheduler.WindowsCounted);
    }

    [Fact]
    public void A_missing_latency_still_reads_as_the_target()
    {
        var scheduler = new MetaScheduler(new SchedulerConfig(Jitter: 0));
        scheduler.RecordWindow();
        Assert.False(scheduler.ShouldUpdate(new SchedulerTelemetry()));
        Assert.Equal(10, scheduler.IntervalWindows);
    }
}
