using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The cpu backend's fast kernels against its exact path on the primitive itself, over every selection
/// size the trimmed-mean kernel specialises (k+1 = 1..9 and beyond), medians of odd and even counts, ties, and
/// column counts with a scalar tail.</summary>
public sealed class CpuFastKernelTests
{
    [Theory]
    [InlineData(AggregationMethod.Mean)]
    [InlineData(AggregationMethod.TrimmedMean)]
    [InlineData(AggregationMethod.Median)]
    [InlineData(AggregationMethod.WeightedMedian)]
    public void Fast_kernels_equal_the_exact_path(AggregationMethod method)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var n in new[] { 1, 2, 3, 5, 8, 9, 16, 33, 64, 70, 90 })
        foreach (var alpha in new[] { 0.0, 0.1, 0.2, 0.3, 0.45 })
        foreach (var ties in new[] { false, true })
        {
            var d = 37 + rng.Next(40);
            var batch = (ties ? BatchScenario.TiedValues : BatchScenario.Plain).Make(rng.Next(), n, d);
            // Leave out a few rows so the kernels see a sparse row list.
            var rows = Enumerable.Range(0, n).Where(r => n < 4 || rng.Next(5) != 0).ToArray();
            var weights = rows.Select(_ => 0.05 + rng.NextDouble()).ToArray();
            var total = weights.Sum();
            for (var i = 0; i < weights.Length; i++) weights[i] /= total;
            var expected = new float[d];
            var actual = new float[d];
            var priorExpected = Enumerable.Range(0, d).Select(c => (float)Math.Cos(c)).ToArray();
            var priorActual = (float[])priorExpected.Clone();
            var step = new ReptileStep(ReptileRule.Interpolate, 0.3);
            exact.Combine(batch, rows, weights, method, alpha, false, expected, priorExpected, step);
            fast.Combine(batch, rows, weights, method, alpha, false, actual, priorActual, step);
            for (var c = 0; c < d; c++)
            {
                var context = $"seed {seed}, {method}, n={n} ({rows.Length} rows), alpha={alpha}, ties={ties}, column {c}";
                // An empty selection (every row left out) leaves no present cell: both paths must say NaN.
                Assert.True(Agrees(expected[c], actual[c]), $"{context}: {actual[c]} vs {expected[c]}");
                Assert.True(Agrees(priorExpected[c], priorActual[c]), $"{context}: prior {priorActual[c]} vs {priorExpected[c]}");
            }
        }
    }
    /// <summary>The random row lists above leave every row out only by chance (that chance once failed CI on a
    /// NaN-blind comparison): an empty selection, on purpose, for every method on both paths.</summary>
    [Theory]
    [InlineData(AggregationMethod.Mean)]
    [InlineData(AggregationMethod.TrimmedMean)]
    [InlineData(AggregationMethod.Median)]
    [InlineData(AggregationMethod.WeightedMedian)]
    public void An_empty_selection_gives_NaN_and_leaves_the_prior_on_both_paths(AggregationMethod method)
    {
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        const int d = 45;
        var batch = BatchScenario.Plain.Make(7, 5, d);
        var expected = new float[d];
        var actual = new float[d];
        var priorExpected = Enumerable.Range(0, d).Select(c => (float)Math.Cos(c)).ToArray();
        var priorActual = (float[])priorExpected.Clone();
        var step = new ReptileStep(ReptileRule.Interpolate, 0.3);
        exact.Combine(batch, [], [], method, 0.2, false, expected, priorExpected, step);
        fast.Combine(batch, [], [], method, 0.2, false, actual, priorActual, step);
        Assert.All(expected, v => Assert.True(float.IsNaN(v)));
        Assert.All(actual, v => Assert.True(float.IsNaN(v)));
        // DESIGN: a column with no present cell leaves the prior's value unchanged.
        for (var c = 0; c < d; c++)
        {
            Assert.Equal((float)Math.Cos(c), priorExpected[c]);
            Assert.Equal((float)Math.Cos(c), priorActual[c]);
        }
    }

    /// <summary>k + 1 = 7 (trim_alpha 0.1 at 60-69 rows) has its own kernel that sorts groups of eight rows and
    /// merges them: every leftover count (0-7 rows after the groups), with and without ties.</summary>
    [Fact]
    public void Trimmed_mean_grouped_selection_equals_the_exact_path()
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var (count, alpha) in new[] { (60, 0.1), (61, 0.1), (62, 0.1), (63, 0.1), (64, 0.1), (65, 0.1), (67, 0.1), (69, 0.1), (14, 0.45), (15, 0.45) })
        foreach (var ties in new[] { false, true })
        {
            var d = 40 + rng.Next(40);
            var n = count + 3;
            var batch = (ties ? BatchScenario.TiedValues : BatchScenario.Plain).Make(rng.Next(), n, d);
            var rows = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(count).Order().ToArray();
            Assert.Equal(6, ExactColumnRulesTrimCount(alpha, rows.Length));
            var weights = rows.Select(_ => 0.05 + rng.NextDouble()).ToArray();
            var total = weights.Sum();
            for (var i = 0; i < weights.Length; i++) weights[i] /= total;
            var expected = new float[d];
            var actual = new float[d];
            exact.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, alpha, false, expected, default, null);
            fast.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, alpha, false, actual, default, null);
            for (var c = 0; c < d; c++)
                Assert.True(Math.Abs(expected[c] - actual[c]) <= 1e-5 + 1e-5 * Math.Abs(expected[c]),
                    $"seed {seed}, {rows.Length} rows, alpha={alpha}, ties={ties}, column {c}: {actual[c]} vs {expected[c]}");
        }
    }

    private static bool Agrees(float expected, float actual) =>
        float.IsNaN(expected) ? float.IsNaN(actual) : Math.Abs(expected - actual) <= 1e-5 + 1e-5 * Math.Abs(expected);

    private static int ExactColumnRulesTrimCount(double alpha, int n) => (int)Math.Floor(alpha * n);
}
