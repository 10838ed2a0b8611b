using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

public sealed class CachedTelemetrySourceTests
{
    [Fact]
    public void Reads_the_device_at_most_once_per_interval()
    {
        var time = new FakeTimeProvider();
        var device = new ScriptedMemorySource(0.5);
        using var cached = new CachedTelemetrySource(device, TimeSpan.FromMilliseconds(100), time);

        Assert.Equal(0.5, cached.Sample().VramUtil, 6);
        device.Util = 0.9;
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Equal(0.5, cached.Sample().VramUtil, 6); // still the cached reading
        Assert.Equal(1, device.Reads);

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0.9, cached.Sample().VramUtil, 6);
        Assert.True(cached.Sample().VramHigh);
        Assert.Equal(2, device.Reads);
        Assert.Equal(2, cached.Reads);
        Assert.Equal("scripted", cached.Device);
    }

    [Fact]
    public void Concurrent_readers_share_one_read()
    {
        var device = new ScriptedMemorySource(0.5);
        using var cached = new CachedTelemetrySource(device, TimeSpan.FromHours(1), new FakeTimeProvider());
        Parallel.For(0, 200, _ => cached.Sample());
        Assert.Equal(1, device.Reads);
    }

    [Fact]
    public void A_zero_interval_reads_every_time()
    {
        var device = new ScriptedMemorySource(0.5);
        using var cached = new CachedTelemetrySource(device, TimeSpan.Zero, new FakeTimeProvider());
        for (var i = 0; i < 5; i++) cached.Sample();
        Assert.Equal(5, device.Reads);
    }

    [Fact]
    public void A_failed_read_is_not_cached()
    {
        var time = new FakeTimeProvider();
        var device = new ScriptedMemorySource(0.5) { Failure = new InvalidOperationException("busy") };
        using var cached = new CachedTelemetrySource(device, TimeSpan.FromSeconds(1), time);
        Assert.Throws<InvalidOperationException>(() => cached.Sample());
        device.Failure = null;
        Assert.Equal(0.5, cached.Sample().VramUtil, 6); // no wait: the failure left nothing to reuse
    }

    [Fact]
    public void Rejects_a_negative_interval() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CachedTelemetrySource(new ScriptedMemorySource(), TimeSpan.FromSeconds(-1)));
}
