using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>A telemetry source's vram-high threshold is a share in [0, 1], both ends included (DESIGN §13: vram_high =
/// vram_util &gt; the threshold): 1 is a source that never reports vram_high, 0 one that does at any use at all.</summary>
public sealed class VramHighThresholdRangeTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void A_threshold_at_either_end_of_the_share_is_taken(double threshold)
    {
        using var source = DeviceTelemetry.ForBackend("cpu", threshold);
        var sample = source.Sample();

        Assert.Equal(sample.VramUtil > threshold, sample.VramHigh);
        Assert.Equal(threshold < 1.0, DeviceMemorySample.FromBytes(100, 100, threshold).VramHigh);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void A_threshold_outside_the_share_is_refused_naming_it(double threshold)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new CpuMemoryTelemetrySource(threshold));
        Assert.Equal("vramHighThreshold", error.ParamName);
    }
}
