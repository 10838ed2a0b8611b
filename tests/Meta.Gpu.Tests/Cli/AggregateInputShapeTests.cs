using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// `meta-gpu aggregate` reads {"updates": [...], "config": {...}} and nothing else: an input or --config of another
/// shape, or a mistyped top-level key, is exit 2 on one line naming it (README: "unknown configuration key ... exit
/// 2"), never an empty result computed from what was not read.
/// </summary>
public sealed class AggregateInputShapeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aggregate-shape-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string OneUpdate = """[{"domain_id": "a", "keys": ["k"], "vector": [1.0], "confidence": 0.9}]""";

    [Theory]
    [InlineData("""{"update": UPDATES}""", "input.update: unknown key in input (known: updates, config)")]
    [InlineData("""{"updates": UPDATES, "config": 5}""", "config: expected an object, got 5")]
    [InlineData("""{"updates": UPDATES, "config": []}""", "config: expected an object, got []")]
    [InlineData("""[UPDATES]""", "input: expected a JSON object, got [[{")]
    public async Task Input_of_another_shape_is_exit_2_naming_what_is_wrong(string input, string expected)
    {
        var (code, output, error) = await CliRun.RunAsync(input.Replace("UPDATES", OneUpdate, StringComparison.Ordinal), "aggregate");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.StartsWith($"meta-gpu: {expected}", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task A_config_file_that_is_no_object_is_exit_2_naming_the_file()
    {
        var config = Path.Combine(_dir, "config.json");
        File.WriteAllText(config, """[{"trim_alpha": 0.2}]""");

        var (code, output, error) = await CliRun.RunAsync($$"""{"updates": {{OneUpdate}}}""", "aggregate", "--config", config);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.Equal($"meta-gpu: {config}: expected a JSON object, got [{{\"trim_alpha\":0.2}}]", error.Trim());
    }
}
