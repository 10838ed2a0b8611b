using System.Globalization;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// The memory cgroup of this process (Linux: containers, systemd units): its limit and what it holds. Inside a
/// container /proc/meminfo describes the host, while the kernel kills the container at its cgroup's limit, so
/// that limit is the memory this process has (DESIGN §13).
/// </summary>
/// <remarks>cgroup v2: <c>memory.max</c> ("max": none), <c>memory.current</c>, <c>memory.stat</c>'s
/// <c>inactive_file</c>; cgroup v1: <c>memory.limit_in_bytes</c>, <c>memory.usage_in_bytes</c>,
/// <c>memory.stat</c>'s <c>total_inactive_file</c>. Used = usage less inactive page cache, which the kernel reclaims
/// before it kills (as /proc/meminfo's MemAvailable counts reclaimable cache as available; .NET's GC and
/// <c>docker stats</c> count it so too).</remarks>
internal static class CgroupMemory
{
    public const string ProcSelfMountinfo = "/proc/self/mountinfo";

    public const string ProcSelfCgroup = "/proc/self/cgroup";

    /// <summary>The folder of this process's memory cgroup files, or null when there is none (not Linux, no
    /// memory controller mounted). The cgroup v1 memory controller when it is mounted (a hybrid host mounts
    /// cgroup2 too, without the memory controller), else the cgroup2 hierarchy.</summary>
    public static string? FindDirectory(string mountinfoPath = ProcSelfMountinfo, string cgroupPath = ProcSelfCgroup)
    {
        string[] mounts, groups;
        try
        {
            mounts = File.ReadAllLines(mountinfoPath);
            groups = File.ReadAllLines(cgroupPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        foreach (var v1 in new[] { true, false })
        {
            if (FindMount(mounts, v1) is not var (root, mountPoint)) continue;
            if (FindGroup(groups, v1) is not { } group) continue;
            // The group's path is relative to the hierarchy's root; the mount shows the part under its root (a
            // container with its own cgroup namespace, or one that mounts only its own group, sees its group there).
            var trimmedRoot = root.TrimEnd('/');
            var relative = group == root ? "" : group.StartsWith(trimmedRoot + "/", StringComparison.Ordinal) ? group[trimmedRoot.Length..] : "";
            var directory = mountPoint + relative;
            return Directory.Exists(directory) ? directory : mountPoint;
        }
        return null;
    }

    /// <summary>The limit of the cgroup in <paramref name="directory"/> or of the ancestor with the least room left,
    /// and what that group holds; false when none has a limit or their files cannot be read.</summary>
    public static bool TryRead(string directory, out long limitBytes, out long usedBytes)
    {
        // The kernel enforces every limit from the group up to the hierarchy's root (a service with none of its own
        // in a limited slice is killed at the slice's): the one with the least room left binds.
        limitBytes = usedBytes = -1;
        var found = false;
        // A group whose parent does not enable the memory controller for its children has no memory files of its
        // own (cgroup v2: a container's entrypoint moved to /init); it is charged to the nearest ancestor that has.
        var start = directory;
        while (start is not null && !File.Exists(Path.Combine(start, "memory.max")) && !File.Exists(Path.Combine(start, "memory.limit_in_bytes")))
            start = Path.GetDirectoryName(start);
        if (start is null) return false;
        var v2 = File.Exists(Path.Combine(start, "memory.max"));
        var limitFile = v2 ? "memory.max" : "memory.limit_in_bytes";
        for (var level = start; level is not null && File.Exists(Path.Combine(level, limitFile)); level = Path.GetDirectoryName(level))
        {
            if (!TryReadLevel(level, v2, out var limit, out var used)) continue;
            if (found && limit - used >= limitBytes - usedBytes) continue;
            (limitBytes, usedBytes, found) = (limit, used, true);
        }
        return found;
    }

    private static bool TryReadLevel(string directory, bool v2, out long limitBytes, out long usedBytes)
    {
        limitBytes = usedBytes = -1;
        var limit = ReadNumber(Path.Combine(directory, v2 ? "memory.max" : "memory.limit_in_bytes"));
        var usage = ReadNumber(Path.Combine(directory, v2 ? "memory.current" : "memory.usage_in_bytes"));
        if (limit is not > 0 || usage is not >= 0) return false;
        var inactive = ReadStat(Path.Combine(directory, "memory.stat"), v2 ? "inactive_file" : "total_inactive_file") ?? 0;
        limitBytes = limit.Value;
        usedBytes = Math.Max(0, usage.Value - inactive);
        return true;
    }

    private static (string Root, string MountPoint)? FindMount(string[] mounts, bool v1)
    {
        foreach (var line in mounts)
        {
            // "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory"
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (separator < 5 || fields.Length < separator + 4) continue;
            var type = fields[separator + 1];
            if (v1 ? type == "cgroup" && fields[separator + 3].Split(',').Contains("memory") : type == "cgroup2")
                return (Unescape(fields[3]), Unescape(fields[4]));
        }
        return null;
    }

    /// <summary>A mountinfo path as it is: the kernel writes a space, tab, newline and backslash in it as octal
    /// escapes (\040, \011, \012, \134), while /proc/self/cgroup names the group unescaped.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var text = new System.Text.StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                text.Append((char)((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0')));
                i += 3;
            }
            else text.Append(field[i]);
        }
        return text.ToString();

        static bool IsOctal(string s, int at) => at + 3 <= s.Length && s[at] is >= '0' and <= '3' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
    }

    private static string? FindGroup(string[] groups, bool v1)
    {
        foreach (var line in groups)
        {
            // v1 "4:memory:/docker/abc"; v2 "0::/user.slice/..."
            var parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            if (v1 ? parts[1].Split(',').Contains("memory") : parts[0] == "0" && parts[1].Length == 0) return parts[2];
        }
        return null;
    }

    /// <summary>The file's number; null when absent, unreadable or not a number ("max").</summary>
    private static long? ReadNumber(string path)
    {
        try
        {
            return long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long? ReadStat(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var parts = line.Split(' ');
                if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                    return value;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No page-cache figure: the usage counts it as used.
        }
        return null;
    }
}
