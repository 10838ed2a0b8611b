using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>`bench` with a bad option refuses it before it creates the <c>--out</c> folder, as `demo` does: the
/// folder (and its missing parents) was made first, and the mistyped run left it behind.</summary>
public sealed class BenchBadOptionOutFolderTests
{
    [Theory]
    [InlineData("--workloads", "sort")]
    [InlineData("--backends", "tpu")]
    [InlineData("--repeats", "0")]
    [InlineData("--n", "-5")]
    public async Task A_bad_bench_option_exits_2_without_creating_the_out_folder(string flag, string value)
    {
        using var folder = new TempFolder();
        var parent = Path.Combine(folder.Path, "new");
        var outDir = Path.Combine(parent, "results");

        var (code, _, error) = await CliRun.RunAsync("", "bench", "--quick", flag, value, "--out", outDir);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {flag}", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(parent), $"{parent} was created by a run refused for its {flag}");
    }
}
