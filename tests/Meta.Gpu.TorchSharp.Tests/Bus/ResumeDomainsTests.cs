using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Nats.Tests;
using Meta.Gpu.Storage;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>
/// A bus demo rerun on a `--storage` folder saved by a run of more domains (`--workers 3` killed, rerun with
/// `--workers 2`): the resume checked only that each expected domain had a saved sequence, so the rerun took the
/// 3-domain run's prior and went on with 2 domains, a mixture of two runs reported as one (README: the final prior is
/// the uninterrupted run's). The domain count decides the numbers as the seed does: refused naming the option the
/// count came from (`--workers` when no `--domains` was given; it named `--domains`, which the user had not typed).
/// </summary>
public sealed class ResumeDomainsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("meta-gpu-review-resume-domains-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_rerun_with_fewer_domains_than_the_saved_run_is_exit_2_naming_the_workers_option_that_set_them()
    {
        var (code, stderr, domains) = await RerunAsync(savedDomains: 3, workers: 2);
        Assert.True(code == MetaGpuApp.ExitUserError, $"exit {code}; demo.json domains {domains ?? "(none)"} over a prior of 3 domains; {stderr}");
        Assert.StartsWith("meta-gpu: --workers 2:", stderr, StringComparison.Ordinal);
        Assert.Contains("3 domains", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Equal(2, new MetaStorageManager(new StorageConfig(Path.Combine(_dir, "storage"))).LoadDensePrior()!.Round);
    }

    /// <summary>More domains than saved were refused already, naming only --storage; now as above.</summary>
    [Fact]
    public async Task A_rerun_with_more_domains_than_the_saved_run_is_exit_2_naming_domains_when_given()
    {
        var (code, stderr, _) = await RerunAsync(savedDomains: 1, workers: 2, "--domains", "2");
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: --domains 2:", stderr, StringComparison.Ordinal);
        Assert.Contains("1 domains (domain-000)", stderr, StringComparison.Ordinal);
    }

    private async Task<(int Code, string Stderr, string? Domains)> RerunAsync(int savedDomains, int workers, params string[] extra)
    {
        await using var server = await NatsServer.StartAsync();
        var storage = Path.Combine(_dir, "storage");
        var output = Path.Combine(_dir, "out");
        SavedSineRun.Write(storage, round: 2, domains: savedDomains);

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await MetaGpuApp.RunAsync(
            ["demo", "--bus", server.Url, "--prefix", "r" + Guid.NewGuid().ToString("N")[..8], "--workers", workers.ToString(System.Globalization.CultureInfo.InvariantCulture), "--meta-rounds", "3",
             "--held-out", "2", "--storage", storage, "--out", output, "--round-timeout", "30", "--quiet", .. extra],
            new CliConsole(TextReader.Null, stdout, stderr)).WaitAsync(TimeSpan.FromSeconds(90));

        var report = Path.Combine(output, "demo.json");
        var domains = File.Exists(report) ? JsonNode.Parse(File.ReadAllText(report))!["domains"]?.ToJsonString() : null;
        return (code, stderr.ToString(), domains);
    }
}
