using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>`meta-gpu conformance`'s summary line agrees with its exit code: a trace file that fails with no step to
/// count (no steps, or no replayer for a component without steps) was left out of it, and a failed run (exit 1)
/// ended on "conformance: 120 passed, 0 failed".</summary>
public sealed class ConformanceSummaryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("conformance-summary-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_trace_file_that_fails_without_a_step_is_named_in_the_summary_line()
    {
        var good = Path.Combine(_dir, "a.json");
        File.Copy(Path.Combine(Meta.Gpu.Tests.Conformance.ReferenceTraceTests.FixtureFolder, "scheduler_0.json"), good);
        var none = Path.Combine(_dir, "b.json");
        File.WriteAllText(none, """{"component": "scheduler", "config": {}, "steps": []}""");

        var (code, output, _) = await CliRun.RunAsync("", "conformance", good, none);

        Assert.Equal(MetaGpuApp.ExitCheckFailed, code);
        var summary = output.TrimEnd().Split('\n')[^1].TrimEnd('\r');
        Assert.Equal("conformance: 120 passed, 0 failed; 1 file failed with no step replayed", summary);
    }

    [Fact]
    public async Task Two_trace_files_that_fail_without_a_step_are_counted_in_the_plural()
    {
        foreach (var name in new[] { "a.json", "b.json" })
            File.WriteAllText(Path.Combine(_dir, name), """{"component": "scheduler", "config": {}, "steps": []}""");

        var (code, output, _) = await CliRun.RunAsync("", "conformance", _dir);

        Assert.Equal(MetaGpuApp.ExitCheckFailed, code);
        var summary = output.TrimEnd().Split('\n')[^1].TrimEnd('\r');
        Assert.Equal("conformance: 0 passed, 0 failed; 2 files failed with no step replayed", summary);
    }
}
