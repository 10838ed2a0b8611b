using System.Diagnostics;
using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// `bench --out` on a tiny tmpfs that is full (needs root to mount; skipped otherwise): the outputs are whole or
/// absent and the run is a one-line error, exit 2. The plain writes left an empty bench.json (or truncated an old
/// one) and the IOException escaped as a stack trace.
/// </summary>
public sealed class FullDiskOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-full-").FullName;
    private string? _mount;

    public void Dispose()
    {
        if (_mount is not null) Run("umount", "-l", _mount);
        Directory.Delete(_dir, recursive: true);
    }

    private static int Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.WaitForExit();
        return p.ExitCode;
    }

    [Fact]
    public async Task Bench_on_a_full_disk_exits_2_and_leaves_no_half_written_output()
    {
        _mount = Path.Combine(_dir, "mnt");
        Directory.CreateDirectory(_mount);
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", _mount) != 0)
        {
            _mount = null;
            Assert.Skip("needs root on Linux to mount a small tmpfs");
        }
        using (var filler = new FileStream(Path.Combine(_mount, "filler"), FileMode.Create, FileAccess.Write, FileShare.None, 1))
        {
            try
            {
                while (true) filler.Write(new byte[4096]);
            }
            catch (IOException)
            {
                // Full: only empty files can be made now.
            }
        }

        var (code, _, error) = await CliRun.RunAsync("", "bench", "--quick", "--backends", "cpu", "--workloads", "weighted_mean", "--out", _mount);

        foreach (var name in new[] { "bench.json", "bench.md", "bench.png" })
            Assert.False(File.Exists(Path.Combine(_mount, name)), $"{name} was left behind");
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: --out: cannot write the results", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }
}
