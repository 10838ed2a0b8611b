namespace Meta.Gpu.Telemetry;

/// <summary>
/// A live source of device-memory readings (DESIGN §13): CUDA from the driver's memory info, the CPU fallback
/// from process and system memory. The supervisor (§6) reads it when the telemetry bus carries no memory
/// figure; the agent's DRG profile, the scheduler and the engine's chunk sizing read it too.
/// </summary>
/// <remarks>Implementations must be cheap and thread-safe to call; a reading that fails throws, and the caller
/// decides the fallback.</remarks>
public interface IDeviceTelemetrySource
{
    /// <summary>Reads device memory now.</summary>
    DeviceMemorySample Sample();
}
