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
        : this(device, totalBytes, allocations, vramHighThreshold, requirePositiveTotal: true)
    {
    }

    private OpenClMemoryTelemetrySource(string device, long totalBytes, IDeviceAllocations allocations, double vramHighThreshold,
        bool requirePositiveTotal)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(allocations);
        if (requirePositiveTotal) ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalBytes);
        Device = device;
        _totalBytes = totalBytes;
        _allocations = allocations;
        _threshold = DeviceMemorySample.CheckThreshold(vramHighThreshold, nameof(vramHighThreshold));
    }

    /// <summary>The source for a device as ILGPU reports it: a device that reports no memory size (not positive) gets
    /// a source whose every reading throws, as <see cref="CudaMemoryTelemetrySource"/>'s does when the driver
    /// reports no total; its callers then take their fallback.</summary>
    internal static OpenClMemoryTelemetrySource OfDevice(string device, long totalBytes, IDeviceAllocations allocations, double vramHighThreshold) =>
        new(device, totalBytes, allocations, vramHighThreshold, requirePositiveTotal: false);

    public string Device { get; }

    public DeviceMemorySample Sample()
    {
        if (_totalBytes <= 0)
            throw new InvalidOperationException($"{Device}: the device reports no memory size ({_totalBytes} bytes); its memory use is unknown");
        return DeviceMemorySample.FromBytes(Math.Min(_allocations.BytesHeld, _totalBytes), _totalBytes, _threshold);
    }
}
