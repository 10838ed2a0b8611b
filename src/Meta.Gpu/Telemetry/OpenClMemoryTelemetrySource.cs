namespace Meta.Gpu.Telemetry;

/// <summary>
/// Device telemetry for the <c>opencl</c> backend (DESIGN §13). OpenCL reports a device's total memory but not
/// what is free, so used = the engine's own allocations on it (<see cref="IDeviceAllocations"/>), total = the
/// device's global memory. Other processes' use of the device is invisible to it: this source under-reports on a
/// shared device, and says so by its name.
/// </summary>
public sealed class OpenClMemoryTelemetrySource : IDeviceTelemetrySource
{
    private readonly long _totalBytes;
    private readonly IDeviceAllocations _allocations;
    private readonly double _threshold;

    /// <param name="device">Label of the device ("opencl:0 ...").</param>
    /// <param name="totalBytes">The device's global memory size (positive).</param>
    /// <param name="allocations">The engine's allocations on it, e.g. <see cref="DeviceAllocationLedger.For"/>.</param>
    /// <param name="vramHighThreshold">vram_high = vram_util &gt; this.</param>
    public OpenClMemoryTelemetrySource(string device, long totalBytes, IDeviceAllocations allocations,
        double vramHighThreshold = DeviceMemorySample.DefaultVramHighThreshold)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(allocations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalBytes);
        Device = device;
        _totalBytes = totalBytes;
        _allocations = allocations;
        _threshold = DeviceMemorySample.CheckThreshold(vramHighThreshold, nameof(vramHighThreshold));
    }

    public string Device { get; }

    public DeviceMemorySample Sample() => DeviceMemorySample.FromBytes(Math.Min(_allocations.BytesHeld, _totalBytes), _totalBytes, _threshold);
}
