using System.Runtime.Intrinsics.X86;
using Meta.Gpu.Compute.Cpu;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The vendor the kernels' machine-specific choices key on (<see cref="CpuVendor"/>) is the one the kernel
/// reports: the three CPUID registers put together in the right order.</summary>
public sealed class CpuVendorTests
{
    [Fact]
    public void The_vendor_is_the_one_proc_cpuinfo_names()
    {
        if (!X86Base.IsSupported || !File.Exists("/proc/cpuinfo"))
            Assert.Skip("needs an x86 Linux machine (CPUID and /proc/cpuinfo)");
        var line = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("vendor_id", StringComparison.Ordinal));
        var expected = line[(line.IndexOf(':') + 1)..].Trim();
        Assert.Equal(expected, CpuVendor.Name);
        Assert.Equal(expected == "GenuineIntel", CpuVendor.IsIntel);
    }
}
