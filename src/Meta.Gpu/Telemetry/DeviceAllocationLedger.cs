using Meta.Gpu.Kernels;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// Process-wide counters of the device bytes the engine's ILGPU backends hold, one per <see cref="DeviceKind"/>.
/// Each <see cref="Compute.IlgpuBackend"/> reports the change in what it holds after every call and gives it all
/// back when disposed, so the counter is the sum over the live backends of that kind.
/// </summary>
/// <remarks>Per kind, not per device: a backend runs on the first usable device of its kind, so every backend of a
/// kind shares one device. Lock-free (<see cref="Interlocked"/>).</remarks>
public sealed class DeviceAllocationLedger : IDeviceAllocations
{
    private static readonly DeviceAllocationLedger[] Ledgers =
        Enum.GetValues<DeviceKind>().Select(_ => new DeviceAllocationLedger()).ToArray();

    private long _bytes;

    /// <summary>The ledger of <paramref name="kind"/>.</summary>
    public static DeviceAllocationLedger For(DeviceKind kind) => Ledgers[(int)kind];

    public long BytesHeld => Math.Max(0, Interlocked.Read(ref _bytes));

    /// <summary>Adds <paramref name="deltaBytes"/> (negative when memory is given back).</summary>
    public void Record(long deltaBytes) => Interlocked.Add(ref _bytes, deltaBytes);
}
