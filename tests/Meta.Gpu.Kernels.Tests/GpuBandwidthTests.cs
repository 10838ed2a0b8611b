using Meta.Gpu.Compute;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The device read stream at its default size on real devices: where a CUDA or OpenCL device exists (the GPU
/// machine of DEVICE.md) its checked totals must hold at 1 GB; skipped elsewhere, never passed.
/// </summary>
public sealed class GpuBandwidthTests
{
    [Theory]
    [MemberData(nameof(GpuDeviceTests.Kinds), MemberType = typeof(GpuDeviceTests))]
    public void Measure_ChecksAndTimesTheDefaultArray(string kind)
    {
        using var backend = IlgpuBackend.TryCreate(kind);
        if (backend is null) Assert.Skip($"no usable {kind} device on this machine");
        var m = DeviceBandwidth.Measure(backend, DeviceBandwidth.DefaultMegabytes, repeats: 3);
        Assert.True(double.IsFinite(m.ReadGbs) && m.ReadGbs > 0, $"read {m.ReadGbs}");
        Assert.True(double.IsFinite(m.CopyGbs) && m.CopyGbs > 0, $"copy {m.CopyGbs}");
        Assert.Equal(backend.DeviceName, m.DeviceName);
        TestContext.Current.SendDiagnosticMessage($"{kind} {m.DeviceName}: read {m.ReadGbs:0} GB/s, copy {m.CopyGbs:0} GB/s over {m.Megabytes} MB");
    }
}
