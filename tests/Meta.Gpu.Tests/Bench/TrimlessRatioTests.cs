using Meta.Gpu.Cli.Bench;

namespace Meta.Gpu.Tests.Bench;

/// <summary>
/// Where k = floor(trim_alpha x N) is 0 (a --quick run's N of 8), the engine's trimmed mean trims nothing and is a
/// weighted mean, while the peers sort anyway: the ratio table printed such a ratio (52.8x in a quick run) beside the
/// real ones with nothing to tell them apart (review).
/// </summary>
public sealed class TrimlessRatioTests
{
    [Theory]
    [InlineData(8, 0.1, true)]
    [InlineData(64, 0.1, false)]
    [InlineData(8, 0.125, false)]
    public void A_trimmed_mean_ratio_that_trims_nothing_is_marked(int n, double alpha, bool marked)
    {
        var bytes = (long)n * 1000 * sizeof(float);
        BenchResult Row(string workload, string backend, double ms) => BenchResult.Timed(workload, backend, n, 1000, [ms], bytes, 20.0);
        var report = new BenchReport(new MachineInfo("Test CPU", 2, "avx2", null), 20, 20,
            [Row("trimmed_mean", "cpu", 0.1), Row("trimmed_mean", "numpy", 5.0), Row("weighted_mean", "cpu", 0.1), Row("weighted_mean", "numpy", 0.3)])
        {
            TrimAlpha = alpha,
        };

        var md = BenchOutputs.Markdown(report);

        var trimmed = md.Split('\n').Single(l => l.StartsWith("| trimmed_mean | " + n, StringComparison.Ordinal) && l.Contains("numpy", StringComparison.Ordinal));
        var mean = md.Split('\n').Single(l => l.StartsWith("| weighted_mean | " + n, StringComparison.Ordinal) && l.Contains("numpy", StringComparison.Ordinal));
        Assert.Equal(marked, trimmed.Contains("(k = 0)", StringComparison.Ordinal));
        Assert.DoesNotContain("(k = 0)", mean, StringComparison.Ordinal);
        Assert.Equal(marked, md.Contains("the engine's trimmed mean is a weighted mean while the peers still sort", StringComparison.Ordinal));
    }
}
