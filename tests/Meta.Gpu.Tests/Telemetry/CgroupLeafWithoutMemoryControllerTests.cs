using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// cgroup v2 gives a group memory files only when its parent enables the memory controller for its children
/// (cgroup.subtree_control). A process in a child group without them (a container's entrypoint that moved itself to
/// /init, a unit without memory accounting) is still charged to, and killed at, the limit of the nearest ancestor
/// that has one: <see cref="CpuMemoryTelemetrySource"/> must read that limit (DESIGN §13), not the host's memory.
/// </summary>
public sealed class CgroupLeafWithoutMemoryControllerTests : IDisposable
{
    private const long GiB = 1L << 30;

    private readonly string _root = Directory.CreateTempSubdirectory("cgroup-leaf-test").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_process_whose_own_cgroup_has_no_memory_files_is_bound_by_its_ancestors_limit()
    {
        var meminfo = Path.Combine(_root, "meminfo");
        File.WriteAllText(meminfo, $"MemTotal:       {64 * GiB / 1024} kB\nMemFree:        {50 * GiB / 1024} kB\nMemAvailable:   {60 * GiB / 1024} kB\n");
        var container = Directory.CreateDirectory(Path.Combine(_root, "fs-cgroup", "container")).FullName;
        File.WriteAllText(Path.Combine(container, "memory.max"), $"{4 * GiB}\n");
        File.WriteAllText(Path.Combine(container, "memory.current"), $"{4 * GiB - GiB / 8}\n");
        File.WriteAllText(Path.Combine(container, "memory.stat"), "inactive_file 0\n");
        File.WriteAllText(Path.Combine(container, "cgroup.subtree_control"), "cpu pids\n");
        // The process's own group: the parent does not enable the memory controller for it, so it has none of its files.
        var init = Directory.CreateDirectory(Path.Combine(container, "init")).FullName;
        File.WriteAllText(Path.Combine(init, "cgroup.procs"), "1\n");

        var sample = new CpuMemoryTelemetrySource(meminfo, init, 0.85).Sample();

        Assert.Equal(4 * GiB, sample.TotalBytes);
        Assert.Equal(4 * GiB - GiB / 8, sample.UsedBytes);
        Assert.True(sample.VramHigh, "a container at 97% of its memory limit must read as vram_high");
    }
}
