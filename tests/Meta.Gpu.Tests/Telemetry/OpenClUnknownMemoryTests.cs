using Meta.Gpu.Kernels;
using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// An OpenCL device that reports no memory size: its telemetry read the machine's memory (<c>auto</c>) or called
/// the device unusable (<c>opencl</c>), while the engine computed on it. It is the device's reading that fails, as
/// a CUDA driver's reading of no total does: each sample throws and the callers take their fallback.
/// </summary>
public sealed class OpenClUnknownMemoryTests
{
    private static readonly DeviceInfo SizelessOpenCl = new(DeviceKind.OpenCL, 0, "Test OpenCL GPU", 0, true, null);

    private static DeviceTelemetry.DeviceAccess Machine(params DeviceInfo[] devices) => new(() => devices, _ => null);

    [Theory]
    [InlineData("auto")]
    [InlineData("opencl")]
    public void A_sizeless_opencl_device_is_read_as_itself_with_its_memory_unknown(string backend)
    {
        using var telemetry = DeviceTelemetry.ForBackend(backend, DeviceMemorySample.DefaultVramHighThreshold, TimeSpan.Zero, null,
            Machine(SizelessOpenCl));

        Assert.IsType<OpenClMemoryTelemetrySource>(telemetry.Inner);
        Assert.StartsWith("opencl:0 Test OpenCL GPU", telemetry.Device, StringComparison.Ordinal);
        var error = Assert.Throws<InvalidOperationException>(() => telemetry.Sample());
        Assert.Contains("no memory size", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Vram_high_reads_false_from_a_sizeless_opencl_device()
    {
        using var telemetry = DeviceTelemetry.ForBackend("opencl", DeviceMemorySample.DefaultVramHighThreshold, TimeSpan.Zero, null,
            Machine(SizelessOpenCl));

        Assert.False(VramHighReading.From(null, telemetry));
    }

    [Fact]
    public void The_public_constructor_still_wants_a_positive_total() =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new OpenClMemoryTelemetrySource("opencl:0 x", 0, new DeviceAllocationLedger()));
}
