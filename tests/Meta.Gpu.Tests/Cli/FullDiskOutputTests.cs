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
    private SmallTmpfs? _tmpfs;

    public void Dispose()
    {
        _tmpfs?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Bench_on_a_full_disk_exits_2_and_leaves_no_half_written_output()
    {
        _tmpfs = SmallTmpfs.MountOrSkip(Path.Combine(_dir, "mnt"));
        _tmpfs.Fill();
        var mount = _tmpfs.Path;

        var (code, _, error) = await CliRun.RunAsync("", "bench", "--quick", "--backends", "cpu", "--workloads", "weighted_mean", "--out", mount);

        foreach (var name in new[] { "bench.json", "bench.md", "bench.png" })
            Assert.False(File.Exists(Path.Combine(mount, name)), $"{name} was left behind");
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: --out: cannot write the results", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }
}
