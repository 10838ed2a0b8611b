using System.Text.Json.Nodes;
using Meta.Gpu.Cli;

namespace Meta.Gpu.TorchSharp.Tests;

public sealed class DemoCultureTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "meta-gpu-demo-culture-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_decimal_comma_learning_rate_is_refused_not_run_at_100x()
    {
        // "--inner-lr 0,05" ran the demo with lr 5 (demo.json inner_learning_rate 5, meta MSE NaN) and exited 0.
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await MetaGpuApp.RunAsync(["demo", "--inner-lr", "0,05", "--meta-rounds", "2", "--domains", "2", "--held-out", "2", "--quiet", "--out", _dir],
            new CliConsole(TextReader.Null, output, error));

        var demo = Path.Combine(_dir, "demo.json");
        var used = File.Exists(demo) ? (double?)JsonNode.Parse(File.ReadAllText(demo))!["inner_learning_rate"] : null;
        Assert.True(code == 2, $"exit {code}, inner_learning_rate {used}, output: {output}");
        Assert.Contains("--inner-lr", error.ToString(), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
