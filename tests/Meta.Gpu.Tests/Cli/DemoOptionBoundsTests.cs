using Meta.Gpu.Cli;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Cli;

/// <summary>
/// `meta-gpu demo`'s settings are checked before anything runs (no TorchSharp is loaded): a value past its bound is
/// exit 2 on one line naming the option, and a value on the bound is taken. Each case leaves `--out ""` (refused
/// later in the same check) so that a bound that let its value through fails on --out rather than running the demo.
/// </summary>
public sealed class DemoOptionBoundsTests
{
    [Theory]
    [InlineData("--inner-steps", "0", "--inner-steps: must be >= 1, got 0")]
    [InlineData("--held-out", "0", "--held-out: must be >= 1, got 0")]
    [InlineData("--inner-lr", "0", "--inner-lr: must be > 0, got 0")]
    [InlineData("--inner-lr", "NaN", "--inner-lr: must be > 0, got NaN")]
    [InlineData("--beta", "0", "--beta: must be in (0, 1], got 0")]
    public async Task A_value_past_its_bound_is_exit_2_naming_the_option(string option, string value, string expected)
    {
        var (code, output, error) = await CliRun.RunAsync("", "demo", option, value, "--out", "");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("", output);
        Assert.Equal($"meta-gpu: {expected}", error.Trim());
    }

    [Theory]
    [InlineData("--beta", "1")]
    [InlineData("--seed", "2147483644")] // SineDemoOptions.MaxSeed: seed + 3 still fits an int
    [InlineData("--inner-steps", "1")]
    [InlineData("--held-out", "1")]
    public async Task A_value_on_its_bound_is_taken(string option, string value)
    {
        var (code, _, error) = await CliRun.RunAsync("", "demo", option, value, "--out", "");

        // The check went on past the option to the empty --out.
        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("meta-gpu: --out: must name a folder", error.Trim());
    }

    [Fact]
    public async Task A_negative_worker_count_is_exit_2_naming_it()
    {
        // --storage without --bus is refused after the worker count: a count let through ends there, not in a run.
        using var folder = new Meta.Gpu.Tests.Storage.TempFolder();
        var (code, _, error) = await CliRun.RunAsync("", "demo", "--workers", "-1", "--storage", folder.Path, "--out", folder.Path);

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Equal("meta-gpu: --workers: must be >= 0, got -1", error.Trim());
    }
}
