using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Conformance;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

public sealed class GovernCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("govern-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string FixtureFolder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Reference");

    /// <summary>The repository root (the folder holding Meta.Gpu.sln), found from the test binaries.</summary>
    private static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Meta.Gpu.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Meta.Gpu.sln not found above the test binaries");
        }
    }

    private static Task<(int Code, string Out, string Error)> Run(string stdin, params string[] args) => CliRun.RunAsync(stdin, args);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task Govern_writes_one_result_line_per_snapshot_of_the_sample()
    {
        var (code, output, error) = await Run("", "govern", Path.Combine(RepoRoot, "samples", "telemetry.jsonl"));

        Assert.Equal(0, code);
        Assert.Equal("", error);
        var lines = Lines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(File.ReadAllLines(Path.Combine(RepoRoot, "samples", "telemetry.jsonl")).Count(l => l.Trim().Length > 0), lines.Count);
        Assert.All(lines, line => Assert.Equal(
            ["meta_policy_update", "resource_profile_hint", "scoring", "meta_score", "meta_score_avg", "rollback", "knobs", "cooldowns", "meta_telemetry"],
            line.Select(p => p.Key).ToArray()));
        Assert.Equal(["tau", "gamma_diversity", "g_min", "lambda_ci", "tier2_enabled", "tier3_topk"], lines[0]["knobs"]!.AsObject().Select(p => p.Key).ToArray());
        // The sample is made to show every behaviour: a rollback, load shedding, and both hint kinds.
        Assert.Contains(lines, l => l["rollback"]!.GetValue<bool>());
        Assert.Contains(lines, l => l["meta_policy_update"]!["operators"] is not null);
        Assert.Contains(lines, l => l["resource_profile_hint"]!["sketch_dim_target"] is not null);
        Assert.Contains(lines, l => l["resource_profile_hint"]!["resamples_target"] is not null);
        Assert.Equal(lines.Count, lines[^1]["meta_telemetry"]!["meta_decision_count"]!.GetValue<int>());
    }

    [Theory]
    [InlineData()]
    [InlineData("-")]
    public async Task Govern_reads_standard_input_and_skips_blank_lines(params string[] input)
    {
        var stdin = "{\"accept_rate\": 0.3}\n\n   \n{\"accept_rate\": 0.01, \"latency_ms\": 200}\n";

        var (code, output, _) = await Run(stdin, ["govern", .. input]);

        Assert.Equal(0, code);
        var lines = Lines(output);
        Assert.Equal(2, lines.Length);
        Assert.Equal("low_accept + latency_high", JsonNode.Parse(lines[1])!["meta_policy_update"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_output_reads_as_written_without_escapes_for_plus_signs()
    {
        // The default encoder wrote "low_accept \u002B latency_high": valid JSON that nobody could read or grep for.
        var (code, output, _) = await Run("{\"accept_rate\": 0.01, \"latency_ms\": 200}\n", "govern");

        Assert.Equal(0, code);
        Assert.Contains("\"reason\":\"low_accept + latency_high\"", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_line_exits_2_naming_the_line()
    {
        var (code, output, error) = await Run("{\"accept_rate\": 0.3}\n\n{\"accept_rate\": 0.3,\n", "govern");

        Assert.Equal(2, code);
        Assert.Single(Lines(output)); // the good line before it was written
        Assert.StartsWith("meta-gpu: line 3, column ", error, StringComparison.Ordinal);
        Assert.Contains("malformed JSON", error, StringComparison.Ordinal);
        Assert.Single(Lines(error));
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_line_that_is_not_an_object_or_has_a_bad_field_exits_2_naming_it()
    {
        var notObject = await Run("[1, 2]\n", "govern");
        var badField = await Run("{}\n{\"oom_flag\": \"maybe\"}\n", "govern");

        Assert.Equal(2, notObject.Code);
        Assert.Contains("line 1: expected a JSON object", notObject.Error, StringComparison.Ordinal);
        Assert.Equal(2, badField.Code);
        Assert.Contains("line 2: oom_flag:", badField.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_finite_reading_exits_2_naming_the_line_and_field()
    {
        var (code, output, error) = await Run("{\"accept_rate\": 0.3}\n{\"latency_ms\": \"nan\"}\n{\"accept_rate\": 0.3}\n", "govern");

        Assert.Equal(2, code);
        Assert.Single(Lines(output));
        Assert.Equal("meta-gpu: line 2: latency_ms: nan is not a finite reading", error.Trim());
    }

    [Fact]
    public async Task Finite_readings_whose_configured_reward_overflows_exit_2_naming_the_line()
    {
        // accept 2 x 1e308 + contrast 2 x -1e308 is inf - inf: each reading is finite, the reward is not.
        var config = Write("overflow.json", """{"meta_score": {"weights": {"accept": 2, "contrast": 2}}}""");
        var (code, output, error) = await Run("{\"accept_rate\": 0.3}\n{\"accept_rate\": 1e308, \"rcl_contrast\": -1e308}\n{\"accept_rate\": 0.3}\n",
            "govern", "--config", config);

        Assert.Equal(2, code);
        Assert.Single(Lines(output));
        Assert.StartsWith("meta-gpu: line 2: ", error, StringComparison.Ordinal);
        Assert.Contains("not finite", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_log_that_cannot_be_written_exits_2_naming_the_option_and_the_line()
    {
        // A full disk: the failed line stayed in the log's buffer and failed again when the layer was disposed, an
        // unhandled IOException (exit 134 and a stack trace).
        Assert.SkipUnless(File.Exists("/dev/full"), "needs /dev/full (a device that is always full)");

        var (code, output, error) = await Run("{\"accept_rate\": 0.3}\n{\"accept_rate\": 0.3}\n", "govern", "--policy-log", "/dev/full");

        Assert.Equal(2, code);
        Assert.Empty(Lines(output));
        Assert.StartsWith("meta-gpu: line 1: --policy-log /dev/full: cannot append the entry (", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_config_key_exits_2_naming_it()
    {
        var config = Write("config.json", """{"meta_score": {"weights": {"acept": 0.3}}}""");

        var (code, output, error) = await Run("{}\n", "govern", "--config", config);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("meta_score.weights.acept: unknown key", error, StringComparison.Ordinal);
        Assert.Single(Lines(error));
    }

    [Fact]
    public async Task A_config_value_out_of_range_exits_2_naming_the_field()
    {
        var config = Write("config.json", """{"controller_policy": {"tau_bounds": [1.2, 0.5]}}""");

        var (code, _, error) = await Run("{}\n", "govern", "--config", config);

        Assert.Equal(2, code);
        Assert.Contains("controller_policy.tau_bounds:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partial_config_changes_only_what_it_names()
    {
        var config = Write("config.json", """{"safety": {"cooldown_cycles": 2}}""");

        var (code, output, _) = await Run("{\"ci_width\": 0.5}\n", "govern", "--config", config);

        Assert.Equal(0, code);
        var line = JsonNode.Parse(Lines(output)[0])!;
        Assert.Equal(2, line["cooldowns"]!["lambda_ci"]!.GetValue<int>());
        Assert.Equal(0.45, line["knobs"]!["lambda_ci"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_missing_input_or_config_file_exits_2()
    {
        var missing = Path.Combine(_dir, "nope.jsonl");

        var input = await Run("", "govern", missing);
        var config = await Run("{}\n", "govern", "--config", missing);

        Assert.Equal(2, input.Code);
        Assert.Contains("nope.jsonl: no such file", input.Error, StringComparison.Ordinal);
        Assert.Equal(2, config.Code);
        // Named as aggregate names it: which of the two files is missing.
        Assert.Contains($"--config {missing}: no such file", config.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_log_in_a_folder_that_is_not_there_exits_2_naming_the_option_and_the_folder()
    {
        var folder = Path.Combine(_dir, "no-such-folder");
        var log = Path.Combine(folder, "policy.jsonl");

        var (code, output, error) = await Run("{}\n", "govern", "--policy-log", log, "-");

        Assert.Equal(2, code);
        Assert.Equal("", output);
        // Was the runtime's "Could not find a part of the path '...'", which named neither.
        Assert.Equal($"meta-gpu: --policy-log {log}: no such folder {folder}", error.Trim());
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task A_malformed_config_file_exits_2()
    {
        var config = Write("config.json", "{\"safety\": ");

        var (code, _, error) = await Run("{}\n", "govern", "--config", config);

        Assert.Equal(2, code);
        Assert.Contains("config.json: malformed JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_file_that_is_no_object_exits_2_naming_it()
    {
        // Not taken for an empty configuration (every default) while the user's settings went unread.
        var config = Write("config.json", "[{\"safety\": {}}]");

        var (code, output, error) = await Run("{}\n", "govern", "--config", config);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"meta-gpu: {config}: a configuration is a JSON object, got [{{\"safety\":{{}}}}]", error.Trim());
    }

    [Fact]
    public async Task A_policy_log_that_is_the_config_file_exits_2_and_leaves_the_config_as_it_was()
    {
        // The log's lines were appended to the configuration already read: the run succeeded and the next run with
        // the same --config failed on a file that was no longer one JSON value.
        const string text = "{\"safety\": {\"cooldown_cycles\": 3}}\n";
        var config = Write("config.json", text);

        var (code, output, error) = await Run("{\"accept_rate\": 0.3}\n", "govern", "--config", config, "--policy-log", config);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"meta-gpu: --policy-log {config}: is the --config file; the log's lines would be appended to the configuration", error.Trim());
        Assert.Equal(text, File.ReadAllText(config));
    }

    [Fact]
    public async Task Policy_log_gets_one_history_entry_per_input()
    {
        var log = Path.Combine(_dir, "policy.jsonl");

        var (code, _, _) = await Run("{}\n{\"ci_width\": 0.5}\n{}\n", "govern", "--policy-log", log);

        Assert.Equal(0, code);
        var entries = File.ReadAllLines(log).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3, entries.Count);
        Assert.Equal(0.45, entries[1]["knobs_after"]!["lambda_ci"]!.GetValue<double>());
        Assert.Equal(2, entries[1]["policy_update"]!["rev"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("integrative_0.json")]
    [InlineData("integrative_1.json")]
    [InlineData("integrative_2.json")]
    [InlineData("integrative_3.json")]
    public async Task Govern_on_a_trace_input_reproduces_the_trace(string file)
    {
        var trace = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(FixtureFolder, file)))!.AsObject();
        var config = Write("config.json", trace["config"]!.ToJsonString());
        var steps = trace["steps"]!.AsArray();
        var input = Write("input.jsonl", string.Join('\n', steps.Select(s => s!["input"]!.ToJsonString())));

        var (code, output, error) = await Run("", "govern", "--config", config, input);

        Assert.Equal(0, code);
        Assert.Equal("", error);
        var lines = Lines(output);
        Assert.Equal(steps.Count, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var mismatches = TraceComparer.Compare(steps[i]!["expected"], JsonNode.Parse(lines[i]));
            Assert.True(mismatches.Count == 0, $"{file} step {i}: {string.Join("; ", mismatches)}");
        }
    }
}
