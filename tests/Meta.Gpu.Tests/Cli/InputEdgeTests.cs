using System.Runtime.InteropServices;
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
    public async Task A_property_given_twice_is_refused_at_the_line_and_column_of_the_second()
    {
        // The parser names the property but not where it is: in a long file "updates" alone did not say which.
        var aggregate = await Run("{\"updates\": [],\n  \"updates\": []}", "aggregate", "-");
        var govern = await Run("{\"accept_rate\": 0.1}\n{\"accept_rate\": 0.1, \"accept_rate\": 0.2}\n", "govern", "-");
        var file = Write("twice-nested.json", "{\"component\": \"integrative_layer\",\n \"config\": {\"safety\": {}, \"safety\": {}},\n \"steps\": []}");
        var conformance = await Run("", "conformance", file);

        Assert.StartsWith("meta-gpu: input: malformed JSON at line 2, column 3 (", aggregate.Error, StringComparison.Ordinal);
        Assert.Contains("updates", aggregate.Error, StringComparison.Ordinal);
        Assert.StartsWith("meta-gpu: line 2, column 22: malformed JSON (", govern.Error, StringComparison.Ordinal);
        Assert.Contains("accept_rate", govern.Error, StringComparison.Ordinal);
        Assert.StartsWith($"meta-gpu: {file}: malformed JSON at line 2, column 27 (", conformance.Error, StringComparison.Ordinal);
        Assert.Contains("safety", conformance.Error, StringComparison.Ordinal);
        Assert.All(new[] { aggregate.Code, govern.Code, conformance.Code }, code => Assert.Equal(MetaGpuApp.ExitUserError, code));
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
    public async Task A_syntax_error_in_a_whole_file_names_its_line_and_column_counted_from_1()
    {
        // The error is on line 3, in its 11th column. The parser's own "LineNumber: 2 | BytePositionInLine: 10."
        // counts from 0 and sent the reader to the line above.
        const string broken = "{\n  \"updates\": [],\n  \"x\": [1,,2]\n}\n";
        var file = Write("broken.json", broken);
        var runs = new[]
        {
            await Run("", "aggregate", file),
            await Run("""{"updates": []}""", "aggregate", "--config", file, "-"),
            await Run("{}\n", "govern", "--config", file, "-"),
            await Run("", "conformance", file),
        };
        foreach (var run in runs)
        {
            Assert.Equal(MetaGpuApp.ExitUserError, run.Code);
            Assert.StartsWith($"meta-gpu: {file}: malformed JSON at line 3, column 11 (", run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("LineNumber", run.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--n: 'abc' is not a whole number", new[] { "bench", "--n", "abc" })]
    [InlineData("--repeats: 99999999999 is out of range", new[] { "bench", "--repeats", "99999999999" })]
    [InlineData("--seed: '1.5' is not a whole number", new[] { "demo", "--seed", "1.5" })]
    [InlineData("--rounds: 'x' is not a whole number", new[] { "domain", "--bus", "nats://127.0.0.1:1", "--id", "domain-000", "--rounds", "x" })]
    public async Task A_whole_number_option_given_something_else_is_exit_2_naming_it_in_plain_words(string expected, string[] args)
    {
        // The parser's own message was "Cannot parse argument 'abc' for option '--n' as expected type
        // 'System.Nullable`1[System.Int32]'".
        var (code, output, error) = await Run("", args);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.StartsWith($"meta-gpu: {expected}", error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
    }

    // Review: a whole number too long for a long is a whole number out of range, not "not a whole number"; and
    // one padded with blanks (`--seed "$(wc -l < f)"` on BSD) was read before, as --inner-lr " 0.5" still is.
    [Theory]
    [InlineData("--seed: 99999999999999999999 is out of range", new[] { "demo", "--seed", "99999999999999999999" })]
    [InlineData("--meta-rounds: must be >= 1", new[] { "demo", "--seed", " 5", "--meta-rounds", "0" })]
    [InlineData("--meta-rounds: must be >= 1", new[] { "demo", "--inner-lr", " 0.5", "--meta-rounds", "0" })]
    public async Task Review_whole_number_options_out_of_long_range_or_padded(string expected, string[] args)
    {
        var (code, _, error) = await Run("", args);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {expected}", error, StringComparison.Ordinal);
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
    [InlineData("integrative_layer", "config", "config.zzz: unknown key")]
    [InlineData("supervisor", "config", "config.zzz: unknown key")]
    [InlineData("agent", "config", "config.zzz: unknown key")]
    [InlineData("domain_learner", "config", "config.zzz: unknown key")]
    [InlineData("supervisor", "initial_profile", "initial_profile: expected an object")]
    public async Task A_bad_trace_setting_is_exit_2_naming_the_file_that_holds_it(string component, string setting, string expected)
    {
        // Said without the file ("meta-gpu: zzz: unknown key ..."), it did not tell which of the traces replayed was wrong.
        var value = setting == "config" ? """{"zzz": 1}""" : "3";
        var good = Write("good.json", """{"component": "integrative_layer", "steps": [{"input": {}, "expected": {}}]}""");
        var bad = Write("bad.json", $$$"""{"component": "{{{component}}}", "{{{setting}}}": {{{value}}}, "steps": [{"input": {}, "expected": {}}]}""");

        var (code, _, error) = await Run("", "conformance", good, bad);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {bad}: {expected}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_step_input_that_is_no_object_is_exit_2_naming_the_step_not_replayed_as_empty()
    {
        // The array was replayed as {}: the step passed against expectations that an empty snapshot meets.
        var file = Write("input.json", """{"component": "integrative_layer", "steps": [{"input": [], "expected": {}}]}""");

        var (code, output, error) = await Run("", "conformance", file);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.DoesNotContain("steps ok", output, StringComparison.Ordinal);
        Assert.Equal($"meta-gpu: {file}: step 0: input: expected an object, got []", error.Trim());
    }

    [Theory]
    [InlineData("supervisor")]
    [InlineData("agent")]
    public async Task Step_events_that_are_no_array_fail_the_step_naming_them_not_replayed_as_none(string component)
    {
        // Read as no events: nothing published, and a step expecting nothing passed.
        var file = Write("events.json", $$$"""{"component": "{{{component}}}", "steps": [{"input": {"events": 5}, "expected": {}}]}""");

        var (code, output, _) = await Run("", "conformance", file);

        Assert.Equal(MetaGpuApp.ExitCheckFailed, code);
        Assert.Contains($"events.json ({component}): 0/1 steps FAILED", output, StringComparison.Ordinal);
        Assert.Contains("events: expected an array of {topic, data}, got 5", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("aggregate")]
    [InlineData("devices", "--json")]
    [InlineData("--help")]
    public async Task Standard_output_that_cannot_be_written_is_exit_2_saying_so_not_an_unhandled_exception(params string[] args)
    {
        // /dev/full refuses every write as a full disk does: the IOException escaped (exit 134 and a stack trace).
        Assert.SkipUnless(File.Exists("/dev/full") && File.Exists("/bin/sh"), "needs /dev/full and /bin/sh");
        var (code, error) = await RunWithStandardOutput("> /dev/full", args);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: standard output: cannot write (", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("aggregate")]
    [InlineData("--help")]
    public async Task A_closed_standard_output_is_exit_2_naming_it_not_an_access_denied_without_a_path(params string[] args)
    {
        // `cmd >&-`: the runtime reports the bad descriptor as UnauthorizedAccessException ("Access to the path is
        // denied."), which the guard let through: the user read of a denied path that no option named.
        Assert.SkipUnless(File.Exists("/bin/sh"), "needs /bin/sh");
        var (code, error) = await RunWithStandardOutput(">&-", args);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: standard output: cannot write (", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    /// <summary>Runs the CLI in a child process whose standard output is redirected by <paramref name="redirection"/>.</summary>
    private async Task<(int Code, string Error)> RunWithStandardOutput(string redirection, string[] args)
    {
        var input = Write("input.json", """{"updates": [{"domain_id": "a", "keys": ["x"], "vector": [1], "confidence": 1}]}""");
        var start = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardError = true, UseShellExecute = false };
        // sh -c 'exec "$@" REDIRECTION' sh dotnet meta-gpu.dll ARGS...
        foreach (var arg in new[] { "-c", $"exec \"$@\" {redirection}", "sh", CliRun.DotnetHost(), CliRun.Assembly }) start.ArgumentList.Add(arg);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        if (args[0] == "aggregate") start.ArgumentList.Add(input);

        using var process = System.Diagnostics.Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, error);
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("demo")]
    public async Task An_ack_wait_below_a_tenth_of_a_second_is_exit_2_naming_it(string command)
    {
        // 1e-7 s was taken: progress on a large vector, reported every half of it, became a tight loop.
        string[] args = command == "serve"
            ? ["serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", "--ack-wait", "1e-7"]
            : ["demo", "--bus", "nats://127.0.0.1:1", "--out", _dir, "--ack-wait", "1e-7"];
        var (code, _, error) = await Run("", args);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: --ack-wait: 1E-07 s is below the least, 0.1 s", error, StringComparison.Ordinal);
        Assert.Throws<InvalidInputException>(() => new Meta.Gpu.Nats.NatsBusOptions { AckWait = TimeSpan.FromMilliseconds(50) }.Validated());
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

    [Fact]
    public async Task Govern_refuses_a_policy_log_that_is_its_own_input_file()
    {
        // It read back the lines it appended, for ever (a 1.4 KB sample grew to 4.3 GB in ten minutes). Run as a
        // process so that a regression is killed rather than left filling the disk.
        var file = Write("same.jsonl", "{\"accept_rate\": 0.1}\n{\"accept_rate\": 0.2}\n");
        var link = Path.Combine(_dir, "link.jsonl");
        File.CreateSymbolicLink(link, file);
        foreach (var log in new[] { file, link })
        {
            var run = await GovernProcess(log, file);
            Assert.Equal(MetaGpuApp.ExitUserError, run.Code);
            Assert.Equal($"meta-gpu: --policy-log {log}: is the input file; the log's lines would be read back as input", run.Error.Trim());
        }
    }

    [Fact]
    public async Task Govern_with_an_input_file_creates_a_policy_log_that_is_not_there_yet()
    {
        // The same-file check resolved the new log's links, which threw: "no such file", exit 2, nothing written.
        var input = Write("input.jsonl", "{\"accept_rate\": 0.1}\n{\"ci_width\": 0.5}\n");
        var log = Path.Combine(_dir, "new-policy.jsonl");
        var dangling = Path.Combine(_dir, "dangling.jsonl");
        File.CreateSymbolicLink(dangling, Path.Combine(_dir, "not-yet.jsonl"));
        foreach (var path in new[] { log, dangling })
        {
            var (code, output, error) = await Run("", "govern", "--policy-log", path, input);
            Assert.Equal("", error);
            Assert.Equal(0, code);
            Assert.Equal(2, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Equal(2, File.ReadAllLines(path).Length);
        }
    }

    [Theory]
    [InlineData("govern", "{\"accept_rate\": 0.3}\n")]
    [InlineData("aggregate", "{\"updates\": [{\"domain_id\": \"a\", \"keys\": [\"w\"], \"vector\": [1], \"confidence\": 0.9}]}")]
    public async Task A_byte_order_mark_on_standard_input_is_read_as_in_a_file(string command, string text)
    {
        // Standard input passed the mark on to the parser: "line 1, column 1: malformed JSON ('0xEF' ...)".
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(text)];
        var run = await CliRun.ProcessAsync(TimeSpan.FromSeconds(60), null, bytes, command, "-");
        Assert.True(run.Finished);
        Assert.Equal("", run.Error);
        Assert.Equal(0, run.Code);
        Assert.NotEqual("", run.Out.Trim());
    }

    [Fact]
    public async Task A_non_finite_reading_under_an_alias_is_refused_naming_the_alias()
    {
        // It named stability_avg, which the line does not have.
        var (code, _, error) = await Run("{\"stability_mean\": \"-inf\"}\n", "govern", "-");
        Assert.Equal(2, code);
        Assert.StartsWith("meta-gpu: line 1: stability_mean:", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("govern", "--policy-log")]
    [InlineData("bench", "--out")]
    [InlineData("serve", "--storage")]
    [InlineData("demo", "--storage")]
    [InlineData("demo", "--bus")]
    public async Task An_empty_path_or_address_is_exit_2_naming_the_option(string command, string option)
    {
        // Each escaped as an ArgumentException from Path.GetFullPath or a constructor (exit 134, a stack trace), or
        // (--bus "") silently ran the demo in process.
        string[] args = command switch
        {
            "govern" => ["govern", option, "", "-"],
            "bench" => ["bench", option, "", "--quick", "--backends", "cpu", "--workloads", "governance_update"],
            "serve" => ["serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", option, ""],
            _ when option == "--bus" => ["demo", "--bus", "", "--out", _dir, "--meta-rounds", "1"],
            _ => ["demo", "--bus", "nats://127.0.0.1:1", "--connect-timeout", "1", option, "", "--out", _dir, "--meta-rounds", "1"],
        };
        var (code, _, error) = await Run("{\"accept_rate\": 0.1}\n", args);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith($"meta-gpu: {option}: must name a", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("--ack-wait", "5")]
    [InlineData("--round-timeout", "5")]
    [InlineData("--prefix", "other")]
    [InlineData("--connect-timeout", "5")]
    public async Task A_bus_only_demo_option_without_bus_is_exit_2_naming_it(string option, string value)
    {
        // They were silently ignored, where --storage and --workers without --bus were refused.
        var (code, _, error) = await Run("", "demo", option, value, "--out", _dir, "--meta-rounds", "1");
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal($"meta-gpu: {option}: only a run over --bus nats://HOST:PORT uses it", error.Trim());
    }

    [Fact]
    public async Task Backend_errors_name_the_flag_and_the_demo_lists_host_among_its_backends()
    {
        var demo = await Run("", "demo", "--backend", "tpu", "--out", _dir, "--meta-rounds", "1");
        var aggregate = await Run("""{"updates": []}""", "aggregate", "--backend", "tpu", "-");
        var serve = await Run("", "serve", "--bus", "nats://127.0.0.1:1", "--backend", "tpu");

        Assert.Equal(MetaGpuApp.ExitUserError, demo.Code);
        Assert.Equal("meta-gpu: --backend: unknown name \"tpu\" (valid: auto, cpu, cuda, ilgpu-cpu, opencl, host)", demo.Error.Trim());
        foreach (var run in new[] { aggregate, serve })
        {
            Assert.Equal(MetaGpuApp.ExitUserError, run.Code);
            Assert.Equal("meta-gpu: --backend: unknown name \"tpu\" (valid: auto, cpu, cuda, ilgpu-cpu, opencl)", run.Error.Trim());
        }
    }

    [Fact]
    public async Task A_bad_prefix_names_the_flag()
    {
        var (code, _, error) = await Run("", "serve", "--bus", "nats://127.0.0.1:1", "--backend", "cpu", "--prefix", "a b");
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: --prefix: 'a b'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aggregate_refuses_a_boolean_where_a_number_belongs()
    {
        // "vector": [true] was aggregated as 1.0 and "confidence": true read as 1, where "abc" was refused.
        var vector = await Run("""{"updates":[{"domain_id":"a","keys":["x"],"vector":[true],"confidence":0.5}]}""", "aggregate", "-");
        var confidence = await Run("""{"updates":[{"domain_id":"a","keys":["x"],"vector":[1],"confidence":true}]}""", "aggregate", "-");
        Assert.Equal(MetaGpuApp.ExitUserError, vector.Code);
        Assert.Contains("vector[0]: expected a number, got true", vector.Error, StringComparison.Ordinal);
        Assert.Equal(MetaGpuApp.ExitUserError, confidence.Code);
        Assert.Contains("confidence: expected a number, got true", confidence.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("govern", false)]
    [InlineData("govern", true)]
    [InlineData("aggregate", false)]
    [InlineData("conformance", false)]
    public async Task A_mistyped_option_is_named_not_taken_for_the_input_file(string command, bool withFile)
    {
        // `govern --bogus` said "--bogus: no such file", and `govern --bogus FILE` named the good file as the
        // unrecognised argument.
        var file = Write("t.jsonl", "{\"accept_rate\": 0.1}\n");
        string[] args = withFile ? [command, "--bogus", file] : [command, "--bogus"];
        var (code, _, error) = await Run("", args);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: Unrecognized option '--bogus'", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_file_whose_name_starts_with_a_dash_is_read_when_given_as_a_path()
    {
        var file = Write("-odd.jsonl", "{\"accept_rate\": 0.1}\n");
        var (code, output, _) = await Run("", "govern", "./" + Path.GetRelativePath(Environment.CurrentDirectory, file));
        Assert.Equal(0, code);
        Assert.Single(output.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("domain")]
    [InlineData("demo")]
    public async Task A_bad_broker_address_names_the_flag(string command)
    {
        string[] args = command switch
        {
            "domain" => ["domain", "--bus", "foo", "--id", "domain-000"],
            "demo" => ["demo", "--bus", "foo", "--out", _dir, "--meta-rounds", "1"],
            _ => ["serve", "--bus", "foo", "--backend", "cpu"],
        };
        var (code, _, error) = await Run("", args);
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("meta-gpu: --bus: 'foo' is not a broker address (expected nats://HOST:PORT)", error.Trim());
    }

    [Fact]
    public async Task A_file_whose_name_starts_with_a_dash_is_read_after_the_double_dash()
    {
        // Refused as an option before (the check ignored the separator). Run as a process in the file's folder:
        // a test must not move this process's current folder under the tests running beside it.
        Write("-after.jsonl", "{\"accept_rate\": 0.1}\n");
        var run = await CliRun.ProcessAsync(TimeSpan.FromSeconds(60), _dir, "govern", "--", "-after.jsonl");
        Assert.True(run.Finished && run.Code == 0, run.Error);
        Assert.Single(run.Out.Trim().Split('\n'));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int link(string existing, string created);

    [Fact]
    public async Task A_policy_log_that_is_the_input_through_a_linked_folder_is_refused_and_through_a_hard_link_is_not_read_back()
    {
        // SameFile compared path strings: a folder reached through a link, or a hard link, read its own lines back
        // for ever. Run as a process, so that a regression is killed rather than left filling the disk.
        if (!OperatingSystem.IsLinux()) Assert.Skip("hard links and /proc/self/fd: Linux");
        var real = Directory.CreateDirectory(Path.Combine(_dir, "real")).FullName;
        var input = Path.Combine(real, "in.jsonl");
        File.WriteAllText(input, "{\"accept_rate\": 0.1}\n{\"accept_rate\": 0.2}\n");
        var linked = Path.Combine(_dir, "linked");
        Directory.CreateSymbolicLink(linked, real);
        var hard = Path.Combine(_dir, "hard.jsonl");
        Assert.Equal(0, link(input, hard));

        var throughFolder = await GovernProcess(Path.Combine(linked, "in.jsonl"), input);
        Assert.Equal(MetaGpuApp.ExitUserError, throughFolder.Code);
        Assert.Contains("is the input file", throughFolder.Error, StringComparison.Ordinal);

        var throughHardLink = await GovernProcess(hard, input);
        Assert.Equal(0, throughHardLink.Code);
        Assert.Equal(2, throughHardLink.Lines); // the two lines the file had, not the ones the log appended
        Assert.Equal(4, File.ReadAllLines(input).Length);
    }

    /// <summary>`govern --policy-log LOG INPUT` as a process, so that a regression that reads its own log back for
    /// ever is killed (after 30 s) rather than left filling the disk.</summary>
    private static async Task<(int Code, int Lines, string Error)> GovernProcess(string log, string input)
    {
        var run = await CliRun.ProcessAsync(TimeSpan.FromSeconds(30), null, "govern", "--policy-log", log, input);
        Assert.True(run.Finished, $"govern --policy-log {log} {input} did not finish; its input grew to {new FileInfo(input).Length:N0} bytes");
        return (run.Code, run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, run.Error);
    }

    [Fact]
    public async Task A_trace_of_a_known_component_with_no_steps_fails_the_check()
    {
        // It passed ("0/0 steps ok", exit 0): a trace that checks nothing counted as a conforming component.
        var (code, output, _) = await Run("", "conformance", Write("empty.json", """{"component": "integrative_layer", "steps": []}"""));

        Assert.Equal(MetaGpuApp.ExitCheckFailed, code);
        Assert.Contains("empty.json (integrative_layer): 0/0 steps FAILED", output, StringComparison.Ordinal);
        Assert.Contains("no steps: the trace checks nothing", output, StringComparison.Ordinal);
    }

    // InputFile.AsItIsNow asked the FileStream for its Length, which a pipe does not have: an unhandled
    // NotSupportedException ("Stream does not support seeking"), exit 134 with a stack trace.
    [Fact]
    public async Task Govern_reads_a_path_that_is_a_pipe()
    {
        var line = System.Text.Encoding.UTF8.GetBytes("{\"accept_rate\": 0.24, \"stability_avg\": 0.78}\n");
        var (finished, code, output, error) = await CliRun.ProcessAsync(TimeSpan.FromSeconds(60), null, line, "govern", "/dev/stdin");

        Assert.True(finished, "govern did not finish");
        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
