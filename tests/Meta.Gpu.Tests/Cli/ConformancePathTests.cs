using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>`meta-gpu conformance` refuses a folder that holds no trace file, alone or named beside other paths: beside
/// a good trace it was passed over, and the run reported success on the rest.</summary>
public sealed class ConformancePathTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("conformance-paths-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_folder_without_traces_beside_a_good_trace_is_refused_naming_it()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var trace = Path.Combine(_dir, "trace.json");
        File.Copy(Path.Combine(Meta.Gpu.Tests.Conformance.ReferenceTraceTests.FixtureFolder, "agent_0.json"), trace);

        var (code, _, error) = await CliRun.RunAsync("", "conformance", empty, trace);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal($"meta-gpu: {empty}: no trace files (*.json) in this folder", error.Trim());
    }

    [Fact]
    public async Task A_folder_without_traces_alone_is_refused_naming_it()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;

        var (code, _, error) = await CliRun.RunAsync("", "conformance", empty);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Contains(empty, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_path_the_traces_shipped_with_the_tool_are_replayed()
    {
        var shipped = Directory.GetFiles(Meta.Gpu.Tests.Conformance.ReferenceTraceTests.FixtureFolder, "*.json");

        var (code, output, error) = await CliRun.RunAsync("", "conformance");

        Assert.True(code == MetaGpuApp.ExitOk, $"exit {code}: {error}\n{output}");
        var lines = output.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        foreach (var trace in shipped)
            Assert.Contains(lines, l => l.StartsWith(Path.GetFileName(trace) + " (", StringComparison.Ordinal) && l.EndsWith(" steps ok", StringComparison.Ordinal));
        Assert.Matches(@"^conformance: [1-9][0-9]* passed, 0 failed$", lines[^1]);
    }
}
