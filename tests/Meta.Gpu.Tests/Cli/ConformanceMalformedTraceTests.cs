using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>`meta-gpu conformance` over several traces: one that cannot be replayed (malformed or truncated JSON, a
/// step that is no object) fails, named with what is wrong on stdout and on stderr, and the run goes on to the other
/// files and ends on its summary line; the exit code stays 2 (malformed input). The first bad file stopped the run
/// with its one-line error: the files after it were never replayed and no summary was written.</summary>
public sealed class ConformanceMalformedTraceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("conformance-malformed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Good(string name)
    {
        var path = Path.Combine(_dir, name);
        File.Copy(Path.Combine(Meta.Gpu.Tests.Conformance.ReferenceTraceTests.FixtureFolder, "scheduler_0.json"), path);
        return path;
    }

    private static List<string> Lines(string output) => output.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToList();

    [Fact]
    public async Task A_truncated_trace_fails_naming_the_file_and_line_and_the_run_goes_on_to_its_summary()
    {
        Good("a.json");
        File.WriteAllText(Path.Combine(_dir, "b.json"), "{\"component\": \"scheduler\",\n \"steps\": [{\"input\": {}");
        Good("c.json");

        var (code, output, error) = await CliRun.RunAsync("", "conformance", _dir);

        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}: {error}\n{output}");
        Assert.StartsWith($"meta-gpu: {Path.Combine(_dir, "b.json")}: malformed JSON at line 2", error, StringComparison.Ordinal);
        var lines = Lines(output);
        Assert.Contains(lines, l => l.StartsWith("a.json (scheduler): 120/120 steps ok", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("c.json (scheduler): 120/120 steps ok", StringComparison.Ordinal));
        Assert.Contains("b.json: FAILED", lines);
        Assert.Contains(lines, l => l.Contains("b.json", StringComparison.Ordinal) && l.Contains("malformed JSON at line 2", StringComparison.Ordinal));
        Assert.Equal("conformance: 240 passed, 0 failed; 1 file failed with no step replayed", lines[^1]);
    }

    [Fact]
    public async Task A_trace_whose_step_is_no_object_fails_naming_the_step_and_the_run_goes_on_to_its_summary()
    {
        File.WriteAllText(Path.Combine(_dir, "a.json"), """{"component": "scheduler", "config": {}, "steps": [5]}""");
        Good("b.json");

        var (code, output, error) = await CliRun.RunAsync("", "conformance", _dir);

        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}: {error}\n{output}");
        Assert.Equal($"meta-gpu: {Path.Combine(_dir, "a.json")}: step 0 is not an object", error.Trim());
        var lines = Lines(output);
        Assert.Contains(lines, l => l.Contains("a.json", StringComparison.Ordinal) && l.Contains("step 0", StringComparison.Ordinal) && l.Contains("not an object", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("b.json (scheduler): 120/120 steps ok", StringComparison.Ordinal));
        Assert.Equal("conformance: 120 passed, 0 failed; 1 file failed with no step replayed", lines[^1]);
    }
}
