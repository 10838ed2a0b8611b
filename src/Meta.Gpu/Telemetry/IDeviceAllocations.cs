namespace Meta.Gpu.Telemetry;

/// <summary>The bytes the engine itself holds on a device: what OpenCL telemetry counts as used, since OpenCL
/// has no query for a device's free memory.</summary>
public interface IDeviceAllocations
{
    /// <summary>Device bytes the engine holds now.</summary>
    long BytesHeld { get; }
}
