using Meta.Gpu.Compute;
using Meta.Gpu.Kernels;
using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// The telemetry factory reads a backend name as <see cref="ComputeBackends.Create"/> does (trimmed, any case): it
/// was case-sensitive, so "CPU" or " cpu" computed on cpu and was refused as an unknown telemetry backend, and the
/// two could not be handed the same user-typed name.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class DeviceTelemetryBackendNameTests
{
    [Theory]
    [InlineData("CPU")]
    [InlineData(" cpu ")]
    [InlineData("Ilgpu-Cpu")]
    [InlineData("\tILGPU-CPU\n")]
    public void A_name_the_backends_take_gives_that_backends_telemetry(string name)
    {
        using var backend = ComputeBackends.Create(name);
        using var telemetry = DeviceTelemetry.ForBackend(name);

        Assert.IsType<CpuMemoryTelemetrySource>(telemetry.Inner);
        Assert.Contains(backend.Name, new[] { ComputeBackends.Cpu, ComputeBackends.IlgpuCpu });
    }

    [Fact]
    public void Auto_in_capitals_reads_the_device_auto_would_compute_on()
    {
        var auto = AutoBackendChoice.Pick(KernelAccelerator.ListDevices()).Backend;
        using var picked = DeviceTelemetry.ForBackend(" AUTO ");
        Assert.StartsWith(auto, picked.Device, StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_neither_takes_is_still_refused_as_typed()
    {
        Assert.Throws<InvalidInputException>(() => ComputeBackends.Create(" TPU "));
        var error = Assert.Throws<InvalidInputException>(() => DeviceTelemetry.ForBackend(" TPU "));
        Assert.Contains("\" TPU \"", error.Message, StringComparison.Ordinal);
    }
}
