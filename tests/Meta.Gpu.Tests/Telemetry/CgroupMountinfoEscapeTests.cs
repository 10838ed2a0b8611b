using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>
/// <see cref="CgroupMemory.FindDirectory"/> reads /proc/self/mountinfo, where the kernel writes a space, tab, newline
/// or backslash in a mount's root or mount point as an octal escape (\040, \011, \012, \134), while /proc/self/cgroup
/// names the group as it is. The folder found must be the real one, whose limit the kernel enforces.
/// </summary>
public sealed class CgroupMountinfoEscapeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cgroup-escape-test").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_mount_point_with_a_space_written_as_octal_040_is_read_as_the_folder_it_names()
    {
        var mount = Directory.CreateDirectory(Path.Combine(_root, "cgroup v2")).FullName;
        var group = Directory.CreateDirectory(Path.Combine(mount, "app.service")).FullName;
        File.WriteAllText(Path.Combine(group, "memory.max"), $"{1L << 30}\n");
        var mountinfo = Path.Combine(_root, "mountinfo");
        File.WriteAllText(mountinfo, $"30 22 0:26 / {mount.Replace(" ", "\\040")} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        var cgroup = Path.Combine(_root, "self-cgroup");
        File.WriteAllText(cgroup, "0::/app.service\n");

        Assert.Equal(group, CgroupMemory.FindDirectory(mountinfo, cgroup));
    }

    [Fact]
    public void A_mount_root_with_a_space_written_as_octal_040_matches_the_group_named_as_it_is()
    {
        var memory = Directory.CreateDirectory(Path.Combine(_root, "memory")).FullName;
        var nested = Directory.CreateDirectory(Path.Combine(memory, "worker")).FullName;
        var mountinfo = Path.Combine(_root, "mountinfo");
        // Without a cgroup namespace: the mount's root is the container's group, whose name holds a space.
        File.WriteAllText(mountinfo, $"35 31 0:32 /my\\040app {memory} rw,relatime - cgroup cgroup rw,memory\n");
        var cgroup = Path.Combine(_root, "self-cgroup");
        File.WriteAllText(cgroup, "4:memory:/my app/worker\n");

        Assert.Equal(nested, CgroupMemory.FindDirectory(mountinfo, cgroup));
    }
}
