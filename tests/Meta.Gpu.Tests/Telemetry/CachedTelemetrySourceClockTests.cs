using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary><see cref="CachedTelemetrySource"/> under a clock that steps backwards (an injected TimeProvider backed by
/// wall time, a VM restored from a snapshot).</summary>
public sealed class CachedTelemetrySourceClockTests
{
    /// <summary>A clock whose timestamps the test sets freely, backwards included.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        public long Ticks { get; set; } = TimeSpan.FromHours(1).Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }

    // The age of the cached sample came out negative after the step back, and "younger than the interval": the
    // sample read before the step was handed out again until the clock caught up (here an hour), whatever the device did.
    [Fact]
    public void A_clock_that_steps_back_does_not_keep_the_old_sample_until_it_catches_up()
    {
        var clock = new SteppingClock();
        var device = new ScriptedMemorySource(0.5);
        using var cached = new CachedTelemetrySource(device, TimeSpan.FromMilliseconds(250), clock);
        Assert.Equal(0.5, cached.Sample().VramUtil, 6);

        device.Util = 0.95;
        clock.Ticks -= TimeSpan.FromMinutes(30).Ticks;

        Assert.Equal(0.95, cached.Sample().VramUtil, 6);
        Assert.True(cached.Sample().VramHigh);
        Assert.Equal(2, device.Reads);
    }

    [Fact]
    public void Without_an_interval_it_reads_the_device_at_most_once_per_250_ms()
    {
        var clock = new SteppingClock();
        var device = new ScriptedMemorySource(0.5);
        using var cached = new CachedTelemetrySource(device, timeProvider: clock);
        cached.Sample();

        clock.Ticks += TimeSpan.FromMilliseconds(249).Ticks;
        cached.Sample();
        Assert.Equal(1, device.Reads);

        clock.Ticks += TimeSpan.FromMilliseconds(1).Ticks;
        cached.Sample();
        Assert.Equal(2, device.Reads);
    }

    [Fact]
    public void A_zero_interval_reads_every_time_even_when_the_clock_steps_back()
    {
        var clock = new SteppingClock();
        var device = new ScriptedMemorySource(0.5);
        using var cached = new CachedTelemetrySource(device, TimeSpan.Zero, clock);
        cached.Sample();
        clock.Ticks -= 1;
        cached.Sample();
        Assert.Equal(2, device.Reads);
    }
}
