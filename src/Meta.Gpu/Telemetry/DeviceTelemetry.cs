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
    /// <exception cref="InvalidInputException">An unknown backend name, <c>cuda</c> / <c>opencl</c> on a machine
    /// without such a device, or <c>cuda</c> whose device is listed but fails to open (the driver's error inside).</exception>
    public static CachedTelemetrySource ForBackend(string backend, double vramHighThreshold = DeviceMemorySample.DefaultVramHighThreshold,
        TimeSpan? minInterval = null, ILogger? logger = null) =>
        ForBackend(backend, vramHighThreshold, minInterval, logger, DeviceAccess.Machine);

    /// <summary><see cref="ForBackend(string, double, TimeSpan?, ILogger?)"/> reaching the devices through
    /// <paramref name="devices"/>: tests give listings and opening failures of machines they do not have.</summary>
    internal static CachedTelemetrySource ForBackend(string backend, double vramHighThreshold, TimeSpan? minInterval, ILogger? logger,
        DeviceAccess devices)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(devices);
        DeviceMemorySample.CheckThreshold(vramHighThreshold, nameof(vramHighThreshold));
        IDeviceTelemetrySource source = ComputeBackends.Normalize(backend) switch
        {
            "cpu" or "ilgpu-cpu" => new CpuMemoryTelemetrySource(vramHighThreshold),
            "cuda" => OpenCuda(devices, vramHighThreshold)
                      ?? throw new InvalidInputException("backend \"cuda\": no CUDA device on this machine (see 'meta-gpu devices')"),
            "opencl" => OpenCl(devices.List(), vramHighThreshold)
                        ?? throw new InvalidInputException("backend \"opencl\": no usable OpenCL device on this machine (see 'meta-gpu devices')"),
            "auto" => ForAuto(devices, vramHighThreshold, logger),
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
                DeviceKind.OpenCL => OpenClMemoryTelemetrySource.OfDevice($"opencl {device.DeviceName}", device.Accelerator.MemorySize,
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

    private static IDeviceTelemetrySource ForAuto(DeviceAccess access, double vramHighThreshold, ILogger? logger)
    {
        var devices = access.List();
        var choice = AutoBackendChoice.Pick(devices);
        return choice.Backend switch
        {
            // A CUDA device that is listed but fails to open falls through to the next, as auto's compute does.
            "cuda" => (IDeviceTelemetrySource?)TryCuda(access, vramHighThreshold, logger) ?? (IDeviceTelemetrySource?)OpenCl(devices, vramHighThreshold) ?? new CpuMemoryTelemetrySource(vramHighThreshold),
            "opencl" => (IDeviceTelemetrySource?)OpenCl(devices, vramHighThreshold) ?? new CpuMemoryTelemetrySource(vramHighThreshold),
            _ => new CpuMemoryTelemetrySource(vramHighThreshold),
        };
    }

    /// <summary>The first CUDA device's source; null without one. A device that is listed but fails to open is the
    /// user's to see to (a busy or broken GPU, a driver too old), so it is refused as a machine without CUDA is.</summary>
    private static CudaMemoryTelemetrySource? OpenCuda(DeviceAccess access, double vramHighThreshold)
    {
        try
        {
            return access.OpenCuda(vramHighThreshold);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidInputException(
                $"backend \"cuda\": the CUDA device failed to open: {e.Message.ReplaceLineEndings(" ")} (see 'meta-gpu devices')", e);
        }
    }

    private static CudaMemoryTelemetrySource? TryCuda(DeviceAccess access, double vramHighThreshold, ILogger? logger)
    {
        try
        {
            return access.OpenCuda(vramHighThreshold);
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
        // A device that reports no memory size is still the one the engine computes on: its readings fail (as a CUDA
        // driver's reading of no total does), rather than the machine's memory standing in for it.
        return device is null
            ? null
            : OpenClMemoryTelemetrySource.OfDevice($"opencl:{device.Ordinal} {device.Name}", device.MemoryBytes,
                DeviceAllocationLedger.For(DeviceKind.OpenCL), vramHighThreshold);
    }

    /// <summary>How the factory reaches the machine's devices.</summary>
    /// <param name="List">The devices ILGPU lists (<see cref="KernelAccelerator.ListDevices"/>).</param>
    /// <param name="OpenCuda">Opens the first CUDA device with the given vram-high threshold, as
    /// <see cref="CudaMemoryTelemetrySource.TryOpen"/> does: null without one, throws when it fails to open.</param>
    internal sealed record DeviceAccess(Func<IReadOnlyList<DeviceInfo>> List, Func<double, CudaMemoryTelemetrySource?> OpenCuda)
    {
        public static DeviceAccess Machine { get; } = new(KernelAccelerator.ListDevices, threshold => CudaMemoryTelemetrySource.TryOpen(0, threshold));
    }
}
