using Meta.Gpu.Compute;
using Meta.Gpu.Kernels;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// Device telemetry for a backend (DESIGN §13), cached (<see cref="CachedTelemetrySource"/>): <c>cuda</c> reads
/// the driver, <c>opencl</c> the device total and the engine's allocations, <c>cpu</c> and <c>ilgpu-cpu</c> the
/// machine's memory; <c>auto</c> reads the device that <c>auto</c> would compute on.
/// </summary>
public static class DeviceTelemetry
{
    /// <summary>The backend names this factory knows.</summary>
    public static IReadOnlyList<string> BackendNames { get; } = ["auto", "cuda", "opencl", "cpu", "ilgpu-cpu"];

    /// <summary>
    /// The telemetry source for backend <paramref name="backend"/>. <c>cuda</c> opens a CUDA context of its own
    /// (prefer <see cref="ForBackend(IComputeBackend, double, TimeSpan?, ILogger?)"/> when the engine's backend exists).
    /// Dispose the result when it is disposable.
    /// </summary>
    /// <param name="backend">"auto", "cuda", "opencl", "cpu" or "ilgpu-cpu", read as <see cref="ComputeBackends.Create"/>
    /// reads it (surrounding whitespace ignored, any case).</param>
    /// <param name="vramHighThreshold">vram_high = vram_util &gt; this (default §5's 0.85).</param>
    /// <param name="minInterval">Shortest time between real reads (default <see cref="CachedTelemetrySource.DefaultMinInterval"/>).</param>
    /// <param name="logger">Where <c>auto</c> reports a CUDA device that is listed but fails to open (it then reads
    /// the next device, as auto's compute falls through to the next backend).</param>
    /// <exception cref="InvalidInputException">An unknown backend name, or <c>cuda</c> / <c>opencl</c> on a machine
    /// without such a device.</exception>
    public static CachedTelemetrySource ForBackend(string backend, double vramHighThreshold = DeviceMemorySample.DefaultVramHighThreshold,
        TimeSpan? minInterval = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        DeviceMemorySample.CheckThreshold(vramHighThreshold, nameof(vramHighThreshold));
        IDeviceTelemetrySource source = ComputeBackends.Normalize(backend) switch
        {
            "cpu" or "ilgpu-cpu" => new CpuMemoryTelemetrySource(vramHighThreshold),
            "cuda" => CudaMemoryTelemetrySource.TryOpen(0, vramHighThreshold)
                      ?? throw new InvalidInputException("backend \"cuda\": no CUDA device on this machine (see 'meta-gpu devices')"),
            "opencl" => OpenCl(KernelAccelerator.ListDevices(), vramHighThreshold)
                        ?? throw new InvalidInputException("backend \"opencl\": no usable OpenCL device on this machine (see 'meta-gpu devices')"),
            "auto" => ForAuto(vramHighThreshold, logger),
            _ => throw new InvalidInputException($"backend \"{backend}\": unknown (one of {string.Join(", ", BackendNames)})"),
        };
        return new CachedTelemetrySource(source, minInterval);
    }

    /// <summary>The telemetry source for the engine's own backend: an ILGPU CUDA backend shares its accelerator
    /// (no second context); OpenCL reads the device total and the engine's allocations; anything else (cpu,
    /// ilgpu-cpu, a fallback wrapper) the machine's memory, or the named backend's device. The source must not be
    /// used after <paramref name="backend"/> is disposed.</summary>
    public static CachedTelemetrySource ForBackend(IComputeBackend backend, double vramHighThreshold = DeviceMemorySample.DefaultVramHighThreshold,
        TimeSpan? minInterval = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (backend is IlgpuBackend ilgpu)
        {
            var device = ilgpu.Accelerator;
            IDeviceTelemetrySource source = device.Kind switch
            {
                DeviceKind.Cuda => new CudaMemoryTelemetrySource(device, vramHighThreshold),
                DeviceKind.OpenCL => new OpenClMemoryTelemetrySource($"opencl {device.DeviceName}", device.Accelerator.MemorySize,
                    DeviceAllocationLedger.For(DeviceKind.OpenCL), vramHighThreshold),
                _ => new CpuMemoryTelemetrySource(vramHighThreshold),
            };
            return new CachedTelemetrySource(source, minInterval);
        }
        // A fallback wrapper computes on its primary until a device failure: read the primary's device.
        if (backend is FallbackBackend fallback) return ForBackend(fallback.Primary, vramHighThreshold, minInterval, logger);
        return backend.Name is "cuda" or "opencl"
            ? ForBackend(backend.Name, vramHighThreshold, minInterval, logger)
            : new CachedTelemetrySource(new CpuMemoryTelemetrySource(vramHighThreshold), minInterval);
    }

    private static IDeviceTelemetrySource ForAuto(double vramHighThreshold, ILogger? logger)
    {
        var devices = KernelAccelerator.ListDevices();
        var choice = AutoBackendChoice.Pick(devices);
        return choice.Backend switch
        {
            // A CUDA device that is listed but fails to open falls through to the next, as auto's compute does.
            "cuda" => (IDeviceTelemetrySource?)TryCuda(vramHighThreshold, logger) ?? (IDeviceTelemetrySource?)OpenCl(devices, vramHighThreshold) ?? new CpuMemoryTelemetrySource(vramHighThreshold),
            "opencl" => (IDeviceTelemetrySource?)OpenCl(devices, vramHighThreshold) ?? new CpuMemoryTelemetrySource(vramHighThreshold),
            _ => new CpuMemoryTelemetrySource(vramHighThreshold),
        };
    }

    private static CudaMemoryTelemetrySource? TryCuda(double vramHighThreshold, ILogger? logger)
    {
        try
        {
            return CudaMemoryTelemetrySource.TryOpen(0, vramHighThreshold);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (logger is not null) LogCudaFailed(logger, e);
            return null;
        }
    }

    private static readonly Action<ILogger, Exception?> LogCudaFailed =
        LoggerMessage.Define(LogLevel.Warning, new EventId(1, "CudaTelemetryFailed"),
            "device telemetry: the CUDA device failed to open; reading the next device auto would use");

    private static OpenClMemoryTelemetrySource? OpenCl(IReadOnlyList<DeviceInfo> devices, double vramHighThreshold)
    {
        var device = devices.FirstOrDefault(d => d is { Kind: DeviceKind.OpenCL, Usable: true });
        return device is null || device.MemoryBytes <= 0
            ? null
            : new OpenClMemoryTelemetrySource($"opencl:{device.Ordinal} {device.Name}", device.MemoryBytes,
                DeviceAllocationLedger.For(DeviceKind.OpenCL), vramHighThreshold);
    }
}
