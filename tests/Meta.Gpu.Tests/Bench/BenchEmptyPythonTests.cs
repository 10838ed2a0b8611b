using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Bench;

/// <summary>
/// <c>--python ""</c> (a script's <c>--python "$PY"</c> with the variable unset) is refused, as benchmarks/README.md
/// says of a <c>--python</c> "that is neither a file nor a command on PATH": "refused before the run, exit 2". It was
/// taken as no option at all, and the peers ran under another interpreter (META_GPU_PYTHON, then python3 on PATH)
/// without a word.
/// </summary>
public sealed class BenchEmptyPythonTests
{
    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public async Task An_empty_python_is_refused_before_the_run_naming_the_option(string python)
    {
        using var folder = new TempFolder();
        var outDir = Path.Combine(folder.Path, "out");

        var (code, output, error) = await CliRun.RunAsync("", "bench", "--quick", "--n", "4", "--d", "64", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_mean", "--backends", "cpu,numpy", "--python", python, "--out", outDir);

        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}\n{output}\n{error}");
        Assert.StartsWith("meta-gpu: --python", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }
}
