using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// `meta-gpu aggregate FILE`: an error in the file's own <c>config</c> or <c>updates</c> (or a mistyped top-level
/// key) names the file, as its JSON errors and a <c>--config</c> file's errors do. It named the field alone, so with
/// <c>--config</c> given the same wrong setting read the same from either file, and only the --config one said which.
/// </summary>
public sealed class AggregateInputFileErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aggregate-file-error-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string OneUpdate = """{"domain_id": "a", "keys": ["k"], "vector": [1.0], "confidence": 0.9}""";

    [Theory]
    [InlineData("""{"updates": [ONE], "config": {"trim_alpha": 7}}""", "config.trim_alpha: must be in [0, 0.5), got 7")]
    [InlineData("""{"updates": [ONE], "config": {"trim_alfa": 0.1}}""", "config.trim_alfa: ")]
    [InlineData("""{"updates": [ONE], "config": 5}""", "config: expected an object, got 5")]
    [InlineData("""{"updates": 5}""", "updates: expected an array of updates, got 5")]
    [InlineData("""{"updates": [{"domain_id": "a", "keys": ["k", "k"], "vector": [1.0, 2.0], "confidence": 0.9}]}""", "domain \"a\": key \"k\" is repeated")]
    [InlineData("""{"updates": [{"domain_id": "a", "keys": ["k"], "vector": [1.0], "confidence": "x"}]}""", "domain \"a\": confidence: expected a number")]
    [InlineData("""{"update": [ONE]}""", "input.update: unknown key in input (known: updates, config)")]
    public async Task An_error_in_the_input_files_sections_names_the_file(string input, string expected)
    {
        var path = Path.Combine(_dir, "input.json");
        File.WriteAllText(path, input.Replace("ONE", OneUpdate, StringComparison.Ordinal));

        var (code, output, error) = await CliRun.RunAsync("", "aggregate", path);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.StartsWith($"meta-gpu: {path}: {expected}", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task The_same_wrong_setting_in_the_config_file_and_the_input_file_names_each_its_file()
    {
        var config = Path.Combine(_dir, "config.json");
        var input = Path.Combine(_dir, "input.json");
        File.WriteAllText(config, """{"trim_alpha": 7}""");
        File.WriteAllText(input, """{"updates": [ONE], "config": {"trim_alpha": 7}}""".Replace("ONE", OneUpdate, StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(_dir, "good-config.json"), """{"trim_alpha": 0.1}""");

        var fromConfig = await CliRun.RunAsync("", "aggregate", "--config", config, input);
        var fromInput = await CliRun.RunAsync("", "aggregate", "--config", Path.Combine(_dir, "good-config.json"), input);

        Assert.Equal($"meta-gpu: {config}: config.trim_alpha: must be in [0, 0.5), got 7", fromConfig.Error.Trim());
        Assert.Equal($"meta-gpu: {input}: config.trim_alpha: must be in [0, 0.5), got 7", fromInput.Error.Trim());
    }
}
