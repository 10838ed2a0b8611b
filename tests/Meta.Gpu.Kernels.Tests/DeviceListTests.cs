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
}
