using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// The kernel enforces every memory limit on the way from the process's cgroup up to the hierarchy's root: a service
/// without a limit of its own, in a slice limited to 4 GiB, is killed at 4 GiB. <see cref="CpuMemoryTelemetrySource"/>
/// must read that limit as the total (DESIGN §13), not the host's memory.
/// </summary>
public sealed class CgroupAncestorLimitTests : IDisposable
{
    private const long GiB = 1L << 30;

    private readonly string _root = Directory.CreateTempSubdirectory("cgroup-ancestor-test").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_limit_on_the_parent_cgroup_binds_a_process_whose_own_cgroup_has_none()
    {
        var meminfo = Path.Combine(_root, "meminfo");
        File.WriteAllText(meminfo, $"MemTotal:       {64 * GiB / 1024} kB\nMemFree:        {50 * GiB / 1024} kB\nMemAvailable:   {60 * GiB / 1024} kB\n");
        var slice = Directory.CreateDirectory(Path.Combine(_root, "fs-cgroup", "work.slice")).FullName;
        File.WriteAllText(Path.Combine(slice, "memory.max"), $"{4 * GiB}\n");
        File.WriteAllText(Path.Combine(slice, "memory.current"), $"{4 * GiB - GiB / 8}\n");
        File.WriteAllText(Path.Combine(slice, "memory.stat"), "inactive_file 0\n");
        var service = Directory.CreateDirectory(Path.Combine(slice, "app.service")).FullName;
        File.WriteAllText(Path.Combine(service, "memory.max"), "max\n");
        File.WriteAllText(Path.Combine(service, "memory.current"), $"{3 * GiB}\n");
        File.WriteAllText(Path.Combine(service, "memory.stat"), "inactive_file 0\n");

        var sample = new CpuMemoryTelemetrySource(meminfo, service, 0.85).Sample();

        Assert.Equal(4 * GiB, sample.TotalBytes);
        Assert.Equal(4 * GiB - GiB / 8, sample.UsedBytes);
        Assert.True(sample.VramHigh, "a slice at 97% of its memory limit must read as vram_high for the processes in it");
    }
}
