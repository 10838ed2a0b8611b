using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Conformance;
using Meta.Gpu.Tests.Conformance;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>`meta-gpu aggregate`, run in process.</summary>
public sealed class AggregateCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"meta-gpu-aggregate-{Guid.NewGuid():N}");

    public AggregateCommandTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Task<(int Code, string Out, string Error)> Run(string stdin, params string[] args) => CliRun.RunAsync(stdin, ["aggregate", .. args]);

    private static JsonArray TraceSteps(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceTraceTests.FixtureFolder, file)))!["steps"]!.AsArray();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(10)]
    [InlineData(47)]
    [InlineData(51)]
    public async Task Reproduces_the_default_trace_steps_from_stdin(int step)
    {
        var trace = TraceSteps("aggregator_default.json")[step]!;

        var (code, output, error) = await Run(trace["input"]!.ToJsonString());

        Assert.Equal(0, code);
        Assert.Equal("", error);
        var mismatches = TraceComparer.Compare(trace["expected"], JsonNode.Parse(output));
        Assert.True(mismatches.Count == 0, string.Join("; ", mismatches));
    }

    [Fact]
    public async Task Config_file_sets_defaults_and_the_input_config_overrides_them()
    {
        // The compat trace's settings as a file; the input itself names only the method and trim share.
        var trace = TraceSteps("aggregator_compat.json")[2]!;
        var input = trace["input"]!.DeepClone().AsObject();
        var full = input["config"]!.AsObject();
        var configPath = Path.Combine(_folder, "compat.json");
        var fileConfig = full.DeepClone().AsObject();
        fileConfig["method"] = "weighted_median";
        fileConfig["trim_alpha"] = 0.0;
        File.WriteAllText(configPath, fileConfig.ToJsonString());
        input["config"] = new JsonObject { ["method"] = full["method"]!.DeepClone(), ["trim_alpha"] = full["trim_alpha"]!.DeepClone() };
        var inputPath = Path.Combine(_folder, "input.json");
        File.WriteAllText(inputPath, input.ToJsonString());

        var (code, output, _) = await Run("", "--config", configPath, inputPath);

        Assert.Equal(0, code);
        Assert.Empty(TraceComparer.Compare(trace["expected"], JsonNode.Parse(output)));
    }

    [Fact]
    public async Task A_bad_setting_in_the_config_file_names_the_file()
    {
        var configPath = Path.Combine(_folder, "settings.json");
        File.WriteAllText(configPath, """{"trim_alpha": 0.7}""");

        var fromFile = await Run("""{"updates": []}""", "--config", configPath, "-");
        var fromInput = await Run("""{"updates": [], "config": {"trim_alpha": 0.7}}""", "-");

        Assert.Equal(2, fromFile.Code);
        Assert.StartsWith($"meta-gpu: {configPath}: config.trim_alpha: must be in [0, 0.5)", fromFile.Error, StringComparison.Ordinal);
        Assert.Equal(2, fromInput.Code);
        Assert.StartsWith("meta-gpu: config.trim_alpha", fromInput.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_finite_values_may_be_strings_and_are_counted_as_rejected()
    {
        var (code, output, _) = await Run("""
            {"updates": [
              {"domain_id": "a", "keys": ["x"], "vector": ["nan"], "confidence": 1},
              {"domain_id": "b", "keys": ["x"], "vector": [2.5], "confidence": "inf"},
              {"domain_id": "c", "keys": ["x"], "vector": [1.5], "confidence": 0.5}
            ]}
            """, "-");

        Assert.Equal(0, code);
        var result = JsonNode.Parse(output)!;
        Assert.Equal(1, result["rejected_nonfinite"]!.GetValue<int>());
        Assert.Equal(1, result["rejected_low_confidence"]!.GetValue<int>());
        Assert.Equal(1.5, result["vector"]![0]!.GetValue<double>());
        Assert.Equal("x", result["keys"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Malformed_update_exits_2_naming_the_domain()
    {
        var (code, output, error) = await Run("""
            {"updates": [
              {"domain_id": "d1", "keys": ["a"], "vector": [1], "confidence": 1},
              {"domain_id": "d3", "keys": ["a", "b", "c", "d"], "vector": [1, 2, 3], "confidence": 1}
            ]}
            """);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("domain \"d3\": 4 keys but 3 values", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Repeated_key_exits_2_naming_the_domain()
    {
        var (code, _, error) = await Run("""{"updates": [{"domain_id": "d5", "keys": ["a", "a"], "vector": [1, 2], "confidence": 1}]}""");

        Assert.Equal(2, code);
        Assert.Contains("domain \"d5\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_config_key_exits_2()
    {
        var (code, _, error) = await Run("""{"updates": [], "config": {"methd": "mean"}}""");

        Assert.Equal(2, code);
        Assert.Contains("config.methd", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_key_in_the_config_file_exits_2()
    {
        var configPath = Path.Combine(_folder, "bad.json");
        File.WriteAllText(configPath, """{"trim": 0.2}""");

        var (code, _, error) = await Run("""{"updates": []}""", "--config", configPath);

        Assert.Equal(2, code);
        Assert.Contains("config.trim", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_json_exits_2()
    {
        var (code, output, error) = await Run("""{"updates": [""");

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("malformed JSON", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_input_file_exits_2()
    {
        var (code, _, _) = await Run("", Path.Combine(_folder, "absent.json"));
        Assert.Equal(2, code);
    }

    [Fact]
    public async Task No_updates_gives_the_empty_result()
    {
        var (code, output, _) = await Run("""{"updates": []}""");

        Assert.Equal(0, code);
        var result = JsonNode.Parse(output)!;
        Assert.Empty(result["vector"]!.AsArray());
        Assert.Equal(0, result["participants"]!.GetValue<int>());
        Assert.Equal(1.0, result["weight_entropy"]!.GetValue<double>());
    }
}
