using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class ComputeBackendsTests
{
    [Fact]
    public void Cpu_and_auto_without_a_device_give_the_cpu_backend()
    {
        using var cpu = ComputeBackends.Create("cpu");
        Assert.IsType<CpuBackend>(cpu);
        using var upper = ComputeBackends.Create(" CPU ");
        Assert.Equal("cpu", upper.Name);
        // auto: a device backend behind a fallback where a device starts, else the cpu backend.
        using var auto = ComputeBackends.Create("auto");
        if (auto.Name == "cpu") Assert.IsType<CpuBackend>(auto);
        else Assert.Equal("cpu", Assert.IsType<FallbackBackend>(auto).Fallback.Name);
    }

    [Fact]
    public void An_unknown_name_is_invalid_input_listing_the_valid_names()
    {
        var ex = Assert.Throws<InvalidInputException>(() => ComputeBackends.Create("tpu"));
        foreach (var name in new[] { "auto", "cpu", "cuda", "ilgpu-cpu", "opencl" }) Assert.Contains(name, ex.Message);
        Assert.Contains("tpu", ex.Message);
    }

    [Fact]
    public void Only_device_names_can_be_registered()
    {
        Assert.Throws<ArgumentException>(() => ComputeBackends.Register("cpu", () => new CpuBackend()));
        Assert.Throws<ArgumentException>(() => ComputeBackends.Register("auto", () => new CpuBackend()));
    }

    [Fact]
    public void IsRegistered_reads_a_name_as_Create_does()
    {
        Assert.True(ComputeBackends.IsRegistered(" CPU "));
        // Whatever this machine registered: the same answer for the name as typed and as Create reads it.
        foreach (var name in new[] { "cuda", "opencl", "ilgpu-cpu" })
            Assert.Equal(ComputeBackends.IsRegistered(name), ComputeBackends.IsRegistered($" {name.ToUpperInvariant()} "));
        Assert.True(ComputeBackends.IsRegistered("ILGPU-CPU"), "ilgpu-cpu is registered wherever the kernels assembly is loaded");
        Assert.False(ComputeBackends.IsRegistered("tpu"));
    }
}
