using System.Diagnostics;
using System.Text.Json.Nodes;
using Meta.Gpu.Telemetry;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary><see cref="CpuMemoryTelemetrySource"/> where /proc/meminfo is missing, partial or out of range.</summary>
public sealed class CpuMemorySourceEdgeTests : IDisposable
{
    private readonly string _path = Path.GetTempFileName();

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void Origin_says_gc_when_the_figures_come_from_the_gc()
    {
        File.WriteAllText(_path, "MemTotal:       16000000 kB\n"); // no MemAvailable: Sample falls back to the GC
        var source = new CpuMemoryTelemetrySource(_path, 0.85);

        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, source.Sample().TotalBytes);
        Assert.Equal("gc", source.Origin);
    }

    [Fact]
    public void A_kilobyte_figure_too_large_for_bytes_is_not_read_as_a_wrapped_around_one()
    {
        // 2^54 + 1 kB overflows long when multiplied by 1024 and wrapped to 1024 bytes: "1 KiB of memory, all of it in use".
        File.WriteAllText(_path, "MemTotal:       18014398509481985 kB\nMemAvailable:   0 kB\n");
        var sample = new CpuMemoryTelemetrySource(_path, 0.85).Sample();

        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, sample.TotalBytes);
    }

    [Fact]
    public async Task Without_meminfo_the_gc_fallback_reports_memory_in_use_before_any_collection()
    {
        // GC.GetGCMemoryInfo() describes the last collection: before the first one MemoryLoadBytes is 0, so a fresh
        // process without /proc/meminfo (macOS, Windows; here hidden by a bind mount) said no memory was in use.
        Assert.SkipUnless(OperatingSystem.IsLinux() && Environment.UserName == "root" && File.Exists("/usr/bin/unshare"),
            "needs root and unshare to hide /proc/meminfo");
        File.WriteAllText(_path, "MemTotal: 1000 kB\n");
        var start = new ProcessStartInfo("/usr/bin/unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-m", "sh", "-c", $"mount --bind '{_path}' /proc/meminfo && exec '{CliRun.DotnetHost()}' '{CliRun.Assembly}' devices --json" })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);

        var cpu = JsonNode.Parse(output)!.AsArray().Single(d => d!["kind"]!.GetValue<string>() == "cpu")!;
        Assert.True(cpu["memory_used_bytes"]!.GetValue<long>() > 0, output);
    }
}
