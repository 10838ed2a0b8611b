using System.Globalization;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// Device telemetry for the <c>cpu</c> and <c>ilgpu-cpu</c> backends (DESIGN §13): the "device memory" is the
/// machine's memory. Where <c>/proc/meminfo</c> exists: total = MemTotal, used = MemTotal - MemAvailable (the
/// memory the kernel could not hand to a new allocation without swapping). Elsewhere, or when the file lacks those
/// fields: the GC's view, total = <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/> (which honours a container
/// limit) and used = <see cref="GCMemoryInfo.MemoryLoadBytes"/>.
/// </summary>
/// <remarks>Reads the file on every call (a few microseconds); wrap it in <see cref="CachedTelemetrySource"/> to
/// bound the rate. Thread-safe: it keeps no state.</remarks>
public sealed class CpuMemoryTelemetrySource : IDeviceTelemetrySource
{
    /// <summary>Where Linux publishes system memory figures.</summary>
    public const string ProcMeminfoPath = "/proc/meminfo";

    private readonly string? _meminfoPath;
    private readonly double _threshold;

    /// <param name="vramHighThreshold">vram_high = vram_util &gt; this (default §5's 0.85).</param>
    public CpuMemoryTelemetrySource(double vramHighThreshold = DeviceMemorySample.DefaultVramHighThreshold)
        : this(ProcMeminfoPath, vramHighThreshold)
    {
    }

    /// <param name="meminfoPath">A file in /proc/meminfo's format, or null to use the GC's figures only.</param>
    /// <param name="vramHighThreshold">vram_high = vram_util &gt; this.</param>
    internal CpuMemoryTelemetrySource(string? meminfoPath, double vramHighThreshold)
    {
        _meminfoPath = meminfoPath;
        _threshold = DeviceMemorySample.CheckThreshold(vramHighThreshold, nameof(vramHighThreshold));
    }

    public string Device => "cpu";

    /// <summary>Where the last figures came from: "/proc/meminfo" or "gc".</summary>
    public string Origin => _meminfoPath is not null && TryReadMeminfo(_meminfoPath, out _, out _) ? ProcMeminfoPath : "gc";

    public DeviceMemorySample Sample()
    {
        if (_meminfoPath is not null && TryReadMeminfo(_meminfoPath, out var total, out var available))
            return DeviceMemorySample.FromBytes(Math.Max(0, total - available), total, _threshold);
        var gc = GC.GetGCMemoryInfo();
        if (gc.Index == 0)
        {
            // The figures are the last collection's: before the first one the memory load reads 0.
            GC.Collect(0, GCCollectionMode.Forced, blocking: true);
            gc = GC.GetGCMemoryInfo();
        }
        return DeviceMemorySample.FromBytes(gc.MemoryLoadBytes, gc.TotalAvailableMemoryBytes, _threshold);
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
