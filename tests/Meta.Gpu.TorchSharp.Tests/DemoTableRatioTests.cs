using Meta.Gpu.Cli;
using Meta.Gpu.Cli.Commands.Demo;
using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The table's "x meta-learned" column is each start's MSE over the meta-learned prior's. When an MSE is not a
/// finite number (a diverged inner loop: <c>--inner-lr 5</c> gave the meta-learned prior an infinite MSE) the
/// column printed "NaNx" on the meta-learned row itself, "0.0x" for the finite rows and "Infinityx" for an infinite
/// one; there is no ratio then, and the column says so with "-", as it did for a NaN.
/// </summary>
public sealed class DemoTableRatioTests
{
    [Theory]
    // --inner-lr 5, 5 meta-rounds, 3 held-out tasks: the meta-learned prior diverged, the other two did not.
    [InlineData(double.PositiveInfinity, 1.186794846310472E+19, 1.0405330177535683E+19, "-", "-", "-")]
    [InlineData(double.PositiveInfinity, double.PositiveInfinity, double.PositiveInfinity, "-", "-", "-")]
    [InlineData(0.5, double.PositiveInfinity, 1.0, "1.0x", "-", "2.0x")]
    [InlineData(0.5, double.NaN, 1.0, "1.0x", "-", "2.0x")]
    [InlineData(0.4683, 4.6452, 5.5549, "1.0x", "9.9x", "11.9x")]
    public void A_ratio_that_is_not_a_finite_number_is_shown_as_a_dash(double meta, double random, double joint, string metaRatio, string randomRatio, string jointRatio)
    {
        var table = Render(new StartingPointMse(meta, random, joint));

        Assert.Equal(metaRatio, RatioCell(table, "meta-learned prior (Reptile)"));
        Assert.Equal(randomRatio, RatioCell(table, "random init"));
        Assert.Equal(jointRatio, RatioCell(table, "joint training"));
    }

    private static string Render(StartingPointMse mse)
    {
        var output = new StringWriter();
        var example = new SineExample(new SineTask(1, 0), [], [], [], [], [], [], []);
        var result = new SineDemoResult(new SineDemoOptions(), "cpu", mse, example, 0, 0.1, new Dictionary<string, double>(), TimeSpan.FromSeconds(1));
        DemoRunner.Ansi(new CliConsole(TextReader.Null, output, TextWriter.Null)).Write(DemoReport.Table(result));
        return output.ToString();
    }

    private static string RatioCell(string table, string row)
    {
        var line = table.Split('\n').Single(l => l.Contains(row, StringComparison.Ordinal));
        var cells = line.Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return cells[^1];
    }
}
