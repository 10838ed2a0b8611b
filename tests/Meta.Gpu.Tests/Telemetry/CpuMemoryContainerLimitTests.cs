using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// <see cref="CpuMemoryTelemetrySource"/> inside a container (DESIGN §13: the cpu backend's "device memory" is the
/// memory the process can have). /proc/meminfo there describes the host; the memory cgroup's limit is what the
/// kernel enforces (OOM kill), so a container at its limit on a large host must read as vram_high. Fake /proc and
/// cgroup files, as the kernel writes them.
/// </summary>
public sealed class CpuMemoryContainerLimitTests : IDisposable
{
    private const long GiB = 1L << 30;

    private readonly string _root = Directory.CreateTempSubdirectory("cgroup-test").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A 64 GiB host with 60 GiB available: 0.0625 of it in use.</summary>
    private string HostMeminfo()
    {
        var path = Path.Combine(_root, "meminfo");
        File.WriteAllText(path, $"MemTotal:       {64 * GiB / 1024} kB\nMemFree:        {50 * GiB / 1024} kB\nMemAvailable:   {60 * GiB / 1024} kB\n");
        return path;
    }

    private string CgroupDirectory(params (string File, string Text)[] files)
    {
        var dir = Path.Combine(_root, "cgroup");
        Directory.CreateDirectory(dir);
        foreach (var (file, text) in files) File.WriteAllText(Path.Combine(dir, file), text);
        return dir;
    }

    [Fact]
    public void Inside_a_cgroup_v2_container_the_limit_is_the_total_and_the_usage_less_inactive_file_is_used()
    {
        var cgroup = CgroupDirectory(
            ("memory.max", $"{4 * GiB}\n"),
            ("memory.current", $"{4 * GiB - GiB / 8}\n"),
            ("memory.stat", $"anon {3 * GiB}\nfile {GiB}\nactive_file {GiB - GiB / 4}\ninactive_file {GiB / 8}\n"));

        var sample = new CpuMemoryTelemetrySource(HostMeminfo(), cgroup, 0.85).Sample();

        Assert.Equal(4 * GiB, sample.TotalBytes);
        Assert.Equal(4 * GiB - GiB / 4, sample.UsedBytes);
        Assert.Equal(0.9375, sample.VramUtil, 12);
        Assert.True(sample.VramHigh, "a container at 94% of its memory limit must read as vram_high");
    }

    [Fact]
    public void Inside_a_cgroup_v1_container_the_memory_controller_limit_is_the_total()
    {
        var cgroup = CgroupDirectory(
            ("memory.limit_in_bytes", $"{2 * GiB}\n"),
            ("memory.usage_in_bytes", $"{2 * GiB - GiB / 16}\n"),
            ("memory.stat", $"cache {GiB / 4}\ninactive_file {GiB / 16}\ntotal_inactive_file {GiB / 16}\n"));

        var sample = new CpuMemoryTelemetrySource(HostMeminfo(), cgroup, 0.85).Sample();

        Assert.Equal(2 * GiB, sample.TotalBytes);
        Assert.Equal(2 * GiB - GiB / 8, sample.UsedBytes);
        Assert.True(sample.VramHigh);
    }

    [Fact]
    public void A_container_with_room_to_spare_on_a_host_nearly_out_of_memory_reads_the_host()
    {
        // 16 GiB limit, 2 GiB used: 14 GiB of room in the container, but the host has 3 GiB available.
        var meminfo = Path.Combine(_root, "meminfo-full");
        File.WriteAllText(meminfo, $"MemTotal:       {64 * GiB / 1024} kB\nMemFree:        {GiB / 1024} kB\nMemAvailable:   {3 * GiB / 1024} kB\n");
        var cgroup = CgroupDirectory(("memory.max", $"{16 * GiB}\n"), ("memory.current", $"{2 * GiB}\n"), ("memory.stat", "inactive_file 0\n"));

        var sample = new CpuMemoryTelemetrySource(meminfo, cgroup, 0.85).Sample();

        // Before: 2 of 16 GiB, vram_high false, while the next 4 GiB would fail on the host.
        Assert.Equal(64 * GiB, sample.TotalBytes);
        Assert.Equal(61 * GiB, sample.UsedBytes);
        Assert.True(sample.VramHigh, "the host's 3 GiB are what the process can still get");
    }

    [Fact]
    public void A_container_that_leaves_exactly_as_much_room_as_the_host_has_available_reads_its_own_limit()
    {
        // 16 GiB limit, 13 GiB used: 3 GiB of room in the container, and 3 GiB available on the host. The cgroup
        // binds where it leaves no more room than MemAvailable (README, DESIGN §13): equal is the cgroup's.
        var meminfo = Path.Combine(_root, "meminfo-even");
        File.WriteAllText(meminfo, $"MemTotal:       {64 * GiB / 1024} kB\nMemFree:        {GiB / 1024} kB\nMemAvailable:   {3 * GiB / 1024} kB\n");
        var cgroup = CgroupDirectory(("memory.max", $"{16 * GiB}\n"), ("memory.current", $"{13 * GiB}\n"), ("memory.stat", "inactive_file 0\n"));

        var sample = new CpuMemoryTelemetrySource(meminfo, cgroup, 0.85).Sample();

        Assert.Equal(16 * GiB, sample.TotalBytes);
        Assert.Equal(13 * GiB, sample.UsedBytes);
    }

    [Theory]
    [InlineData("memory.max", "max\n")]
    [InlineData("memory.limit_in_bytes", "9223372036854771712\n")] // cgroup v1's "no limit"
    [InlineData("memory.max", "137438953472\n")] // 128 GiB: more than the host has
    public void A_cgroup_without_a_binding_limit_leaves_the_machine_figures(string limitFile, string limit)
    {
        var cgroup = CgroupDirectory((limitFile, limit), ("memory.current", $"{GiB}\n"), ("memory.usage_in_bytes", $"{GiB}\n"));

        var sample = new CpuMemoryTelemetrySource(HostMeminfo(), cgroup, 0.85).Sample();

        Assert.Equal(64 * GiB, sample.TotalBytes);
        Assert.Equal(4 * GiB, sample.UsedBytes);
    }

    [Fact]
    public void A_cgroup_directory_without_memory_files_leaves_the_machine_figures()
    {
        var sample = new CpuMemoryTelemetrySource(HostMeminfo(), Path.Combine(_root, "missing"), 0.85).Sample();

        Assert.Equal(64 * GiB, sample.TotalBytes);
        Assert.Equal(4 * GiB, sample.UsedBytes);
    }

    [Fact]
    public void The_cgroup_v2_folder_is_the_mount_point_joined_with_the_process_group()
    {
        var mount = Directory.CreateDirectory(Path.Combine(_root, "sys-fs-cgroup")).FullName;
        Directory.CreateDirectory(Path.Combine(mount, "system.slice", "app.service"));
        var mountinfo = Path.Combine(_root, "mountinfo");
        File.WriteAllText(mountinfo, $"22 1 0:21 / /proc rw - proc proc rw\n30 22 0:26 / {mount} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        var cgroup = Path.Combine(_root, "self-cgroup");
        File.WriteAllText(cgroup, "0::/system.slice/app.service\n");

        Assert.Equal(Path.Combine(mount, "system.slice", "app.service"), CgroupMemory.FindDirectory(mountinfo, cgroup));
    }

    [Fact]
    public void On_a_hybrid_host_the_cgroup_v1_memory_controller_is_read_and_a_container_sees_its_group_at_the_mount_root()
    {
        var memory = Directory.CreateDirectory(Path.Combine(_root, "memory")).FullName;
        var unified = Directory.CreateDirectory(Path.Combine(_root, "unified")).FullName;
        var mountinfo = Path.Combine(_root, "mountinfo");
        // Docker without a cgroup namespace: the mount's root is the container's group, /proc/self/cgroup names it whole.
        File.WriteAllText(mountinfo,
            $"32 31 0:29 /docker/abc {Path.Combine(_root, "cpu")} rw - cgroup cgroup rw,cpu\n" +
            $"35 31 0:32 /docker/abc {memory} rw,relatime - cgroup cgroup rw,memory\n" +
            $"41 31 0:38 / {unified} rw,relatime - cgroup2 cgroup2 rw\n");
        var cgroup = Path.Combine(_root, "self-cgroup");
        File.WriteAllText(cgroup, "5:cpu:/docker/abc\n4:memory:/docker/abc\n0::/docker/abc\n");

        Assert.Equal(memory, CgroupMemory.FindDirectory(mountinfo, cgroup));
    }
}
