using Meta.Gpu.Cli.Bench;

namespace Meta.Gpu.Tests.Bench;

/// <summary>
/// bench.md's figures: the ratio table is "Peer median time / ours: above 1 means the engine is faster", with as
/// many decimals as the ratio's size needs, and ilgpu-cpu (there to test the kernels) is compared with nobody; the
/// main table's milliseconds keep their significant digits at every size.
/// </summary>
public sealed class PeerRatioTests
{
    private const int N = 64;
    private const int D = 1000;

    private static BenchResult Row(string workload, string backend, double ms) =>
        BenchResult.Timed(workload, backend, N, D, [ms], (long)N * D * sizeof(float), 20.0);

    private static string[] Lines() => BenchOutputs.Markdown(new BenchReport(new MachineInfo("Test CPU", 2, "avx2", null), 20, 20,
    [
        Row("weighted_mean", "cpu", 0.1), Row("weighted_mean", "numpy", 5.0), Row("weighted_mean", "ilgpu-cpu", 40.0),
        Row("median", "cpu", 1.0), Row("median", "numpy", 2.5),
        Row("reptile_step", "cpu", 100.0), Row("reptile_step", "numpy", 5.0),
        Row("trimmed_mean", "cpu", 0.005), Row("trimmed_mean", "numpy", 12.34),
    ])).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    [Theory]
    [InlineData("weighted_mean", "| weighted_mean | 64 | 1000 | cpu | 0.100 | numpy | 5.000 | 50.0x |")]
    [InlineData("median", "| median | 64 | 1000 | cpu | 1.000 | numpy | 2.500 | 2.50x |")]
    [InlineData("reptile_step", "| reptile_step | 64 | 1000 | cpu | 100.0 | numpy | 5.000 | 0.050x |")]
    public void The_ratio_is_the_peers_time_over_ours_with_the_decimals_its_size_needs(string workload, string expected)
    {
        var ratios = Lines().Where(l => l.StartsWith($"| {workload} | {N} | {D} | ", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected, Assert.Single(ratios));
    }

    [Fact]
    public void Ilgpu_cpu_is_compared_with_no_peer()
    {
        var ratioTable = Lines().SkipWhile(l => !l.StartsWith("## Ratios", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(ratioTable);
        Assert.DoesNotContain(ratioTable, l => l.Contains("ilgpu-cpu", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("trimmed_mean", "cpu", "| 0.005000 | 0.005000 | 0.005000 |")]
    [InlineData("median", "numpy", "| 2.500 | 2.500 | 2.500 |")]
    [InlineData("trimmed_mean", "numpy", "| 12.3 | 12.3 | 12.3 |")]
    public void Milliseconds_below_a_hundredth_keep_six_decimals_below_ten_three_and_above_one(string workload, string backend, string times)
    {
        var row = Lines().Single(l => l.StartsWith($"| {workload} | {backend} | {N} | {D} |", StringComparison.Ordinal));
        Assert.Contains($"| {N} | {D} {times} 1 |", row, StringComparison.Ordinal);
    }
}
