using Meta.Gpu.Compute;

namespace Meta.Gpu.Kernels.Tests;

public sealed class DeviceListTests
{
    [Fact]
    public void ListsTheCpuAcceleratorAsUsable_AndLoadsWithoutAnyGpuDriver()
    {
        var devices = IlgpuBackend.ListDevices();
        Assert.Contains(devices, d => d.Kind == DeviceKind.IlgpuCpu && d.Usable && d.Reason is null);
        Assert.All(devices.Where(d => !d.Usable), d => Assert.False(string.IsNullOrEmpty(d.Reason)));
    }

    [Fact]
    public void BackendNamesRoundTrip()
    {
        foreach (var kind in Enum.GetValues<DeviceKind>())
        {
            Assert.True(DeviceKindNames.TryParse(DeviceKindNames.Of(kind), out var parsed));
            Assert.Equal(kind, parsed);
        }
        Assert.False(DeviceKindNames.TryParse("cpu", out _));
    }

    [Fact]
    public void Create_SaysWhyWhenTheDeviceIsMissing_TryCreateReturnsNull()
    {
        if (IlgpuBackend.ListDevices().Any(d => d.Kind == DeviceKind.Cuda && d.Usable))
            Assert.Skip("this machine has a CUDA device");
        var e = Assert.Throws<InvalidOperationException>(() => IlgpuBackend.Create("cuda"));
        Assert.StartsWith("cuda: no ", e.Message, StringComparison.Ordinal);
        Assert.Null(IlgpuBackend.TryCreate("cuda"));
        Assert.Throws<ArgumentException>(() => IlgpuBackend.Create("cpu"));
    }
}
