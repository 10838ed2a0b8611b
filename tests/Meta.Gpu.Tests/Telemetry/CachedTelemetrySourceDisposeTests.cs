using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// A disposed cache refuses to sample: it handed back its last reading, of a device it had just closed, for up to
/// its interval, and threw only once that reading went stale (and then only if the inner source checks).
/// </summary>
public sealed class CachedTelemetrySourceDisposeTests
{
    [Fact]
    public void Sample_after_dispose_throws_object_disposed_even_with_a_fresh_reading_cached()
    {
        var time = new FakeTimeProvider();
        var device = new ScriptedMemorySource(0.5);
        var cached = new CachedTelemetrySource(device, TimeSpan.FromHours(1), time);
        cached.Sample();

        cached.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cached.Sample());
        Assert.Equal(1, device.Reads);
    }

    [Fact]
    public void Sample_after_dispose_does_not_read_the_inner_source()
    {
        var device = new ScriptedMemorySource(0.5);
        var cached = new CachedTelemetrySource(device, TimeSpan.Zero, new FakeTimeProvider());

        cached.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cached.Sample());
        Assert.Equal(0, device.Reads);
        Assert.Equal(0, cached.Reads);
    }

    [Fact]
    public void Dispose_disposes_the_inner_source_once()
    {
        var device = new DisposableSource();
        var cached = new CachedTelemetrySource(device);

        cached.Dispose();
        cached.Dispose();

        Assert.Equal(1, device.Disposals);
    }

    private sealed class DisposableSource : IDeviceTelemetrySource, IDisposable
    {
        public int Disposals { get; private set; }

        public DeviceMemorySample Sample() => DeviceMemorySample.FromBytes(1, 2);

        public void Dispose() => Disposals++;
    }
}
