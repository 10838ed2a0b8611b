using Meta.Gpu.Kernels;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// A CUDA device that is listed but fails to open: the <c>cuda</c> backend's telemetry let ILGPU's own exception
/// out (no word of the backend or of what failed) where a machine without CUDA got an
/// <see cref="InvalidInputException"/>; <c>auto</c> passes over it to the next device.
/// </summary>
public sealed class DeviceTelemetryCudaOpenFailureTests
{
    private static readonly DeviceInfo Gpu = new(DeviceKind.Cuda, 0, "Test GPU", 80L << 30, true, null);
    private static readonly DeviceInfo OpenClGpu = new(DeviceKind.OpenCL, 0, "Test OpenCL GPU", 16L << 30, true, null);

    // ILGPU's CudaException cannot be made without a CUDA driver (its message comes from the driver): the failure
    // stands in for it with the driver's wording.
    private const string DriverError = "CUDA_ERROR_OUT_OF_MEMORY: out of memory";

    private static DeviceTelemetry.DeviceAccess FailingCuda(params DeviceInfo[] devices) =>
        new(() => devices, _ => throw new InvalidOperationException(DriverError));

    [Fact]
    public void Cuda_backend_whose_device_fails_to_open_is_refused_naming_the_backend_and_the_failure()
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            DeviceTelemetry.ForBackend("cuda", DeviceMemorySample.DefaultVramHighThreshold, null, null, FailingCuda(Gpu)));

        Assert.StartsWith("backend \"cuda\": ", error.Message, StringComparison.Ordinal);
        Assert.Contains("failed to open", error.Message, StringComparison.Ordinal);
        Assert.Contains(DriverError, error.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    [Fact]
    public void Cuda_backend_whose_driver_error_spans_lines_is_refused_on_one_line()
    {
        // An input error is reported on one line (README, exit code 2).
        var multiline = new DeviceTelemetry.DeviceAccess(() => [Gpu], _ => throw new InvalidOperationException("CUDA_ERROR_UNKNOWN\nsee the driver log"));

        var error = Assert.Throws<InvalidInputException>(() =>
            DeviceTelemetry.ForBackend("cuda", DeviceMemorySample.DefaultVramHighThreshold, null, null, multiline));

        Assert.Contains("CUDA_ERROR_UNKNOWN see the driver log", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("auto")]
    public void Running_out_of_memory_while_opening_the_cuda_device_is_not_taken_for_a_device_failure(string backend)
    {
        var outOfMemory = new DeviceTelemetry.DeviceAccess(() => [Gpu, OpenClGpu], _ => throw new OutOfMemoryException());

        Assert.Throws<OutOfMemoryException>(() =>
            DeviceTelemetry.ForBackend(backend, DeviceMemorySample.DefaultVramHighThreshold, null, NullLogger.Instance, outOfMemory));
    }

    [Fact]
    public void Cuda_backend_without_a_device_still_says_there_is_none()
    {
        var none = new DeviceTelemetry.DeviceAccess(() => [], _ => null);

        var error = Assert.Throws<InvalidInputException>(() =>
            DeviceTelemetry.ForBackend("cuda", DeviceMemorySample.DefaultVramHighThreshold, null, null, none));

        Assert.Contains("no CUDA device", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_passes_over_a_cuda_device_that_fails_to_open_to_the_opencl_one()
    {
        using var telemetry = DeviceTelemetry.ForBackend("auto", DeviceMemorySample.DefaultVramHighThreshold, null,
            NullLogger.Instance, FailingCuda(Gpu, OpenClGpu));

        Assert.IsType<OpenClMemoryTelemetrySource>(telemetry.Inner);
    }
}
