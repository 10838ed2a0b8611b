using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// `meta-gpu demo`'s domain count is checked before anything runs against the most domains a round's batch holds
/// (every domain's 1761 sine-network parameters in one array): `--domains 2000000` passed every check, loaded
/// libtorch, and died in the first round on an unhandled ArgumentOutOfRangeException from DomainBatch (exit 134, a
/// stack trace naming "rows"). As in <see cref="DemoOptionBoundsTests"/>, `--out ""` is refused later in the same
/// check, so a count let through fails there rather than running the demo.
/// </summary>
public sealed class DemoDomainCountBoundTests
{
    private static readonly int MaxDomains = Meta.Gpu.Compute.DomainBatch.MaxRows(Meta.Gpu.TorchSharp.Sine.SineRegressor.ParameterCount);

    [Fact]
    public async Task More_domains_than_a_rounds_batch_holds_are_exit_2_naming_domains()
    {
        var (code, output, error) = await CliRun.RunAsync("", "demo", "--domains", "2000000", "--out", "");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.Equal($"meta-gpu: --domains: must be <= {MaxDomains} (a round's batch holds every domain's 1761 parameters in one array), got 2000000", error.Trim());
    }

    [Fact]
    public async Task More_workers_than_a_rounds_batch_holds_are_exit_2_naming_workers()
    {
        // --workers without --domains sets the domain count: the error names the option the count came from.
        var (code, _, error) = await CliRun.RunAsync("", "demo", "--bus", "nats://127.0.0.1:1", "--workers", "2000000", "--out", "");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.StartsWith("meta-gpu: --workers: must be <= ", error.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_most_domains_a_rounds_batch_holds_are_taken()
    {
        var (code, _, error) = await CliRun.RunAsync("", "demo", "--domains", MaxDomains.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", "");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("meta-gpu: --out: must name a folder", error.Trim());
    }
}
