using Meta.Gpu.Cli;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>`demo --bus` and `domain` refuse bad arguments with exit code 2 and one line naming them, before any
/// broker or worker process is involved.</summary>
public sealed class DemoBusArgumentTests
{
    [Theory]
    [InlineData("--workers", new[] { "demo", "--workers", "2" })]
    [InlineData("--storage", new[] { "demo", "--storage", "somewhere" })]
    [InlineData("--workers 3", new[] { "demo", "--bus", "nats://127.0.0.1:1", "--workers", "3", "--domains", "4" })]
    [InlineData("--round-timeout", new[] { "demo", "--bus", "nats://127.0.0.1:1", "--round-timeout", "0" })]
    [InlineData("--ack-wait", new[] { "demo", "--bus", "nats://127.0.0.1:1", "--ack-wait", "-1" })]
    [InlineData("--rounds", new[] { "domain", "--bus", "nats://127.0.0.1:1", "--id", "domain-000", "--rounds", "0" })]
    [InlineData("--id", new[] { "domain", "--bus", "nats://127.0.0.1:1", "--id", " " })]
    public async Task Bad_arguments_exit_2_with_one_line_naming_them(string named, string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await MetaGpuApp.RunAsync(args, new CliConsole(TextReader.Null, output, error));
        Assert.Equal(2, code);
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().Trim().Split('\n'));
    }
}
