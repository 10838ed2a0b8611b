using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// A hidden command (`storage-soak`, kept out of the top-level list because only tests run it) prints its usage for
/// `--help` as every other command does: it printed nothing and exited 0, so its options could only be read in the
/// source. It stays out of `meta-gpu --help`.
/// </summary>
public sealed class HiddenCommandHelpTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Storage_soak_help_prints_its_usage_and_options(string flag)
    {
        var (code, output, error) = await CliRun.RunAsync("", "storage-soak", flag);

        Assert.Equal(MetaGpuApp.ExitOk, code);
        Assert.Equal("", error);
        Assert.Contains("Save priors in a loop", output, StringComparison.Ordinal);
        Assert.Contains(" storage-soak [options]", output, StringComparison.Ordinal);
        foreach (var option in new[] { "--root", "--count", "--keys", "--d" })
            Assert.Contains(option, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storage_soak_stays_out_of_the_top_level_help()
    {
        var (code, output, _) = await CliRun.RunAsync("", "--help");

        Assert.Equal(MetaGpuApp.ExitOk, code);
        Assert.Contains("aggregate", output, StringComparison.Ordinal);
        Assert.DoesNotContain("storage-soak", output, StringComparison.Ordinal);
    }
}
