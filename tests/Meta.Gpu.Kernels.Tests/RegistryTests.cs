using Meta.Gpu.Compute;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>The ILGPU backends through the backend registry (DESIGN §13).</summary>
public sealed class RegistryTests
{
    private static bool HasGpu() => IlgpuBackend.ListDevices().Any(d => d.Usable && d.Kind is DeviceKind.Cuda or DeviceKind.OpenCL);

    [Fact]
    public void IlgpuCpu_IsHandedOutBare()
    {
        using var backend = ComputeBackends.Create("ilgpu-cpu");
        Assert.IsType<IlgpuBackend>(backend);
        Assert.Equal("ilgpu-cpu", backend.Name);
    }

    [Fact]
    public void WithoutAGpu_AutoIsCpu_AndANamedDeviceSaysWhyItIsMissing()
    {
        if (HasGpu()) Assert.Skip("this machine has a usable CUDA or OpenCL device");
        using var auto = ComputeBackends.Create("auto");
        Assert.Equal("cpu", auto.Name);
        foreach (var name in new[] { "cuda", "opencl" })
        {
            var e = Assert.Throws<InvalidInputException>(() => ComputeBackends.Create(name));
            Assert.Contains($"{name}: no ", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void WithAGpu_AutoPicksIt()
    {
        if (!HasGpu()) Assert.Skip("no usable CUDA or OpenCL device on this machine");
        using var auto = ComputeBackends.Create("auto");
        Assert.True(auto.Name is "cuda" or "opencl", auto.Name);
    }
}
