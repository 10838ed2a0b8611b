namespace Meta.Gpu.Telemetry;

/// <summary>
/// A live source of device-memory readings (DESIGN §13): CUDA from the driver's memory info, OpenCL from the
/// device's total memory and the engine's own allocations, the CPU from system memory. The supervisor (§6) reads
/// it when the telemetry bus carries no memory figure; the agent's DRG profile, the scheduler and the engine's
/// chunk sizing read it too.
/// </summary>
/// <remarks>Implementations must be thread-safe to call; wrap a source in <see cref="CachedTelemetrySource"/> to
/// bound how often it really reads. A reading that fails throws, and the caller decides the fallback.</remarks>
public interface IDeviceTelemetrySource
{
    /// <summary>The device read, as a short label for logs and payloads: "cpu", "cuda:0 NVIDIA H100 ...". Sources
    /// written before the label existed report their type name.</summary>
    string Device => GetType().Name;

    /// <summary>Reads device memory now.</summary>
    DeviceMemorySample Sample();
}
