using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Nats.Tests;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>
/// A bus demo rerun on a `--storage` folder whose saved run is further on than the `--meta-rounds` asked: the run
/// took no round and reported the saved prior (5 rounds) as a 2-round run, in the table's summary line and in
/// demo.json's `meta_rounds` (DESIGN §15). README only describes a rerun that finds the run done (the same count) or
/// goes on with a larger one; a smaller count is refused naming the option, as a rerun with other settings is.
/// </summary>
public sealed class ResumeRoundsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-review-resume-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_rerun_asking_fewer_rounds_than_the_saved_run_took_is_exit_2_naming_meta_rounds()
    {
        await using var server = await NatsServer.StartAsync();
        var storage = Path.Combine(_dir, "storage");
        var output = Path.Combine(_dir, "out");
        SavedSineRun.Write(storage, round: 5, domains: 1);

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await MetaGpuApp.RunAsync(
            ["demo", "--bus", server.Url, "--prefix", "r" + Guid.NewGuid().ToString("N")[..8], "--domains", "1", "--meta-rounds", "2",
             "--held-out", "2", "--storage", storage, "--out", output, "--quiet"],
            new CliConsole(TextReader.Null, stdout, stderr)).WaitAsync(TimeSpan.FromSeconds(60));

        var report = Path.Combine(output, "demo.json");
        var reported = File.Exists(report) ? (long?)JsonNode.Parse(File.ReadAllText(report))!["meta_rounds"]!.GetValue<long>() : null;
        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}; demo.json meta_rounds {reported?.ToString() ?? "(none)"} for a prior saved at round 5; {stdout}{stderr}");
        Assert.StartsWith("meta-gpu: --meta-rounds 2:", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("round 5", stderr.ToString(), StringComparison.Ordinal);
        Assert.Single(stderr.ToString().Trim().Split('\n'));
        Assert.False(File.Exists(report));
    }
}
