using System.Globalization;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// Device telemetry for the <c>cpu</c> and <c>ilgpu-cpu</c> backends (DESIGN §13): the "device memory" is the
/// machine's memory. Where <c>/proc/meminfo</c> exists: total = MemTotal, used = MemTotal - MemAvailable (the
/// memory the kernel could not hand to a new allocation without swapping); but when the process's memory cgroup
/// (a container, a systemd unit) has a limit below MemTotal and leaves no more room than MemAvailable, total = that
/// limit and used = the cgroup's usage less its inactive page cache (<see cref="CgroupMemory"/>): /proc/meminfo
/// there describes the host, and the kernel kills the container at its limit. Where the host has less room left
/// than the cgroup, the host binds and its figures are given. Elsewhere, or when the file lacks those fields: the GC's view, total =
/// <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/> (which honours a container limit) and used =
/// <see cref="GCMemoryInfo.MemoryLoadBytes"/>.
/// </summary>
/// <remarks>Reads the file on every call (a few microseconds); wrap it in <see cref="CachedTelemetrySource"/> to
/// bound the rate. Thread-safe: it keeps no state.</remarks>
public sealed class CpuMemoryTelemetrySource : IDeviceTelemetrySource
{
    /// <summary>Where Linux publishes system memory figures.</summary>
    public const string ProcMeminfoPath = "/proc/meminfo";

    private readonly string? _meminfoPath;
    private readonly string? _cgroupDirectory;
    private readonly double _threshold;

    /// <param name="vramHighThreshold">vram_high = vram_util &gt; this (default §5's 0.85).</param>
    public CpuMemoryTelemetrySource(double vramHighThreshold = DeviceMemorySample.DefaultVramHighThreshold)
        : this(ProcMeminfoPath, CgroupMemory.FindDirectory(), vramHighThreshold)
    {
    }

    /// <param name="meminfoPath">A file in /proc/meminfo's format, or null to use the GC's figures only.</param>
    /// <param name="vramHighThreshold">vram_high = vram_util &gt; this.</param>
    internal CpuMemoryTelemetrySource(string? meminfoPath, double vramHighThreshold)
        : this(meminfoPath, null, vramHighThreshold)
    {
    }

    /// <param name="meminfoPath">A file in /proc/meminfo's format, or null to use the GC's figures only.</param>
    /// <param name="cgroupMemoryDirectory">The folder of the process's memory cgroup files, or null for none.</param>
    /// <param name="vramHighThreshold">vram_high = vram_util &gt; this.</param>
    internal CpuMemoryTelemetrySource(string? meminfoPath, string? cgroupMemoryDirectory, double vramHighThreshold)
    {
        _meminfoPath = meminfoPath;
        _cgroupDirectory = cgroupMemoryDirectory;
        _threshold = DeviceMemorySample.CheckThreshold(vramHighThreshold, nameof(vramHighThreshold));
    }

    public string Device => "cpu";

    /// <summary>Where the last figures came from: "/proc/meminfo", "memory cgroup" or "gc".</summary>
    public string Origin => TryReadSystem(out _, out _, out var origin) ? origin : "gc";

    public DeviceMemorySample Sample()
    {
        if (TryReadSystem(out var used, out var total, out _))
            return DeviceMemorySample.FromBytes(used, total, _threshold);
        var gc = GC.GetGCMemoryInfo();
        if (gc.Index == 0)
        {
            // The figures are the last collection's: before the first one the memory load reads 0.
            GC.Collect(0, GCCollectionMode.Forced, blocking: true);
            gc = GC.GetGCMemoryInfo();
        }
        return DeviceMemorySample.FromBytes(gc.MemoryLoadBytes, gc.TotalAvailableMemoryBytes, _threshold);
    }

    /// <summary>Used and total from /proc/meminfo, with the memory cgroup's limit when it is below MemTotal.</summary>
    private bool TryReadSystem(out long usedBytes, out long totalBytes, out string origin)
    {
        usedBytes = totalBytes = -1;
        origin = "gc";
        if (_meminfoPath is null || !TryReadMeminfo(_meminfoPath, out var total, out var available)) return false;
        // The cgroup binds where it leaves less room than the host has available: a container with room to spare
        // on a host nearly out of memory is not safe to grow (the host's figures then).
        if (_cgroupDirectory is not null && CgroupMemory.TryRead(_cgroupDirectory, out var limit, out var cgroupUsed) && limit < total
            && limit - cgroupUsed <= available)
        {
            (usedBytes, totalBytes, origin) = (cgroupUsed, limit, "memory cgroup");
            return true;
        }
        (usedBytes, totalBytes, origin) = (Math.Max(0, total - available), total, ProcMeminfoPath);
        return true;
    }

    /// <summary>MemTotal and MemAvailable in bytes; false when the file is absent or lacks either line.</summary>
    internal static bool TryReadMeminfo(string path, out long totalBytes, out long availableBytes)
    {
        totalBytes = availableBytes = -1;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return false;
        }
        foreach (var line in lines)
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) totalBytes = ParseKilobytes(line);
            else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) availableBytes = ParseKilobytes(line);
        }
        return totalBytes > 0 && availableBytes >= 0;
    }

    /// <summary>"MemTotal:       16318396 kB" -> bytes; -1 when the line is not in that form.</summary>
    private static long ParseKilobytes(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value)) return -1;
        var unit = parts.Length > 2 ? parts[2] : "";
        return unit switch
        {
            "kB" => value > long.MaxValue / 1024 ? -1 : value * 1024,
            "" => value,
            _ => -1,
        };
    }
}
