using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>Input that used to escape as an unhandled exception (exit 134 and a stack trace) or exit 0 on a failed
/// check: each is now a one-line error naming the input (exit 2), or exit 1 for a failed check.</summary>
public sealed class InputEdgeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-edges-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<(int Code, string Out, string Error)> Run(string stdin, params string[] args) => CliRun.RunAsync(stdin, args);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task A_property_given_twice_is_malformed_input_in_aggregate_govern_and_conformance()
    {
        var aggregate = await Run("""{"updates": [], "updates": []}""", "aggregate", "-");
        var govern = await Run("{\"accept_rate\": 0.1}\n{\"accept_rate\": 0.1, \"accept_rate\": 0.2}\n", "govern", "-");
        var conformance = await Run("", "conformance", Write("twice.json", """{"component": "integrative", "component": "x", "steps": []}"""));

        Assert.Equal(MetaGpuApp.ExitUserError, aggregate.Code);
        Assert.Contains("malformed JSON", aggregate.Error, StringComparison.Ordinal);
        Assert.Contains("updates", aggregate.Error, StringComparison.Ordinal);
        Assert.Equal(MetaGpuApp.ExitUserError, govern.Code);
        Assert.StartsWith("meta-gpu: line 2", govern.Error, StringComparison.Ordinal);
        Assert.Equal(MetaGpuApp.ExitUserError, conformance.Code);
        Assert.Contains("malformed JSON", conformance.Error, StringComparison.Ordinal);
        Assert.All(new[] { aggregate.Error, govern.Error, conformance.Error }, e => Assert.DoesNotContain("   at ", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_string_or_property_name_that_is_no_text_is_malformed_input_in_aggregate_govern_and_conformance()
    {
        // An escaped lone surrogate: the parser reads strings only when asked, and then threw InvalidOperationException.
        const string lone = "\\ud800";
        var key = await Run($$"""{"updates":[{"domain_id":"a","keys":["{{lone}}"],"vector":[1],"confidence":1}]}""", "aggregate", "-");
        var domain = await Run($$"""{"updates":[{"domain_id":"{{lone}}","keys":["x"],"vector":[1],"confidence":1}]}""", "aggregate", "-");
        var govern = await Run("{\"accept_rate\": 0.1}\n{\"accept_rate\": 0.1, \"" + lone + "\": 1}\n", "govern", "-");
        var conformance = await Run("", "conformance", Write("lone.json", $$"""{"component": "{{lone}}", "steps": []}"""));

        foreach (var run in new[] { key, domain, govern, conformance })
        {
            Assert.Equal(MetaGpuApp.ExitUserError, run.Code);
            Assert.Contains("not valid text", run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
        }
        Assert.StartsWith("meta-gpu: line 2", govern.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_given_for_a_file_is_exit_2_saying_so()
    {
        var runs = new[]
        {
            await Run("", "aggregate", _dir),
            await Run("""{"updates": []}""", "aggregate", "--config", _dir, "-"),
            await Run("", "govern", _dir),
            await Run("", "govern", "--config", _dir, "-"),
            await Run("{\"accept_rate\": 0.1}\n", "govern", "--policy-log", _dir, "-"),
        };
        foreach (var run in runs)
        {
            Assert.Equal(MetaGpuApp.ExitUserError, run.Code);
            // Not "Access to the path ... is denied", which sends the user after permissions.
            Assert.Contains($"{_dir}: is a folder, expected a file", run.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_trace_file_with_no_replayer_fails_the_check_even_with_no_steps()
    {
        var (code, output, _) = await Run("", "conformance", Write("unknown.json", """{"component": "nope", "steps": []}"""));

        Assert.Equal(MetaGpuApp.ExitCheckFailed, code);
        Assert.Contains("no replayer for component 'nope'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_component_that_is_not_a_string_is_exit_2_naming_it()
    {
        var file = Write("numeric.json", """{"component": 5, "steps": []}""");

        var (code, _, error) = await Run("", "conformance", file);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal($"meta-gpu: {file}: component must be a string, got 5", error.Trim());
    }

    [Theory]
    [InlineData("serve", "--ack-wait")]
    [InlineData("serve", "--connect-timeout")]
    [InlineData("demo", "--round-timeout")]
    public async Task A_duration_too_long_for_a_timer_is_exit_2_naming_the_option(string command, string option)
    {
        // Port 1 refuses at once, should the value ever get as far as dialling.
        string[] args = command == "serve"
            ? ["serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", option, "1e300"]
            : ["demo", "--bus", "nats://127.0.0.1:1", "--out", _dir, option, "1e300"];

        var (code, _, error) = await Run("", args);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {option}: 1E+300 must be a positive number of seconds", error, StringComparison.Ordinal);
    }
}
