using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>A file that is there but cannot be opened (a link that points at itself: "Too many levels of symbolic
/// links"; a log name longer than a file name may be) is a one-line error naming the option and the file, exit 2: the
/// runtime's IOException escaped `aggregate`, `govern` and `conformance` as an unhandled exception (exit 134 and a
/// stack trace), past the checks for a missing file and a folder.</summary>
public sealed class UnopenableFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-unopenable-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("", "aggregate", "{loop}")]
    [InlineData("--config {loop}", "aggregate", "--config", "{loop}", "{aggregate-input}")]
    [InlineData("", "govern", "{loop}")]
    [InlineData("--config {loop}", "govern", "--config", "{loop}", "{govern-input}")]
    [InlineData("", "conformance", "{loop}")]
    [InlineData("--policy-log {loop}", "govern", "--policy-log", "{loop}", "{govern-input}")]
    [InlineData("--policy-log {long}", "govern", "--policy-log", "{long}", "{govern-input}")]
    public async Task A_file_that_cannot_be_opened_is_exit_2_on_one_line_naming_it(string option, params string[] args)
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("a link to itself and the name length are POSIX file system errors");
        var loop = Path.Combine(_dir, "loop.json");
        File.CreateSymbolicLink(loop, loop);
        var aggregateInput = Path.Combine(_dir, "updates.json");
        File.WriteAllText(aggregateInput, "{\"updates\": []}");
        var governInput = Path.Combine(_dir, "telemetry.jsonl");
        File.WriteAllText(governInput, "{\"accept_rate\": 0.1}\n");
        var paths = new Dictionary<string, string>
        {
            ["{loop}"] = loop,
            ["{long}"] = Path.Combine(_dir, new string('a', 300) + ".jsonl"),
            ["{aggregate-input}"] = aggregateInput,
            ["{govern-input}"] = governInput,
        };
        args = args.Select(a => paths.GetValueOrDefault(a, a)).ToArray();
        var named = option.Length == 0 ? loop : $"{option.Split(' ')[0]} {paths[option.Split(' ')[1]]}";

        var (code, output, error) = await CliRun.RunAsync("", args);

        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}: {error}");
        Assert.StartsWith($"meta-gpu: {named}: cannot ", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
        // conformance goes on past a trace it cannot replay, to the others and its summary (the file fails there too).
        if (args[0] == "conformance") Assert.EndsWith("conformance: 0 passed, 0 failed; 1 file failed with no step replayed", output.TrimEnd(), StringComparison.Ordinal);
        else Assert.Equal("", output);
    }
}
