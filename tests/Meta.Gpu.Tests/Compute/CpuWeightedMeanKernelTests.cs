using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The cpu weighted-mean kernel (the mean, and the trimmed mean with k = 0) on unmasked non-finite cells that reach
/// the primitive directly: a NaN cell makes its column NaN, counted empty, leaving the prior's value unchanged; an
/// infinite one makes it infinite; both exactly as the exact path does (the kernel used to count 0 empty columns
/// and write NaN into the fused step's prior).
/// </summary>
public sealed class CpuWeightedMeanKernelTests
{
    [Theory]
    [InlineData(AggregationMethod.Mean, 0.1, null)]
    [InlineData(AggregationMethod.TrimmedMean, 0.0, null)]
    [InlineData(AggregationMethod.Mean, 0.1, ReptileRule.Interpolate)]
    [InlineData(AggregationMethod.Mean, 0.1, ReptileRule.Delta)]
    public void Non_finite_columns_are_empty_and_leave_the_prior_as_the_exact_path_does(AggregationMethod method, double trimAlpha, ReptileRule? rule)
    {
        // One worker splits the columns into four chunks (CpuBackend.ChunkWidth): at five blocks and a scalar tail,
        // each chunk holds a whole block and part of the next.
        const int n = 9, d = 5 * Meta.Gpu.Compute.Cpu.WeightedSumKernel.Block + 5;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < d; c++) row[c] = (float)(rng.NextDouble() * 2 - 1);
            batch.Confidences[r] = 0.2 + 0.8 * rng.NextDouble();
        }
        const int block = Meta.Gpu.Compute.Cpu.WeightedSumKernel.Block;
        var poisoned = new[] { 3, 8, 9, 15, block - 1, block, block + 188, 2 * block, d - 1 };
        foreach (var (c, i) in poisoned.Select((c, i) => (c, i)))
            batch.Row(i % n)[c] = (i % 3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
        batch.MarkChanged();
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = Enumerable.Range(0, n).Select(_ => 0.1 + rng.NextDouble()).ToArray();
        using var fast = new CpuBackend(maxDegreeOfParallelism: 1);
        using var exact = new CpuBackend(maxDegreeOfParallelism: 1) { UseFastKernels = false };
        var step = rule is { } r0 ? new ReptileStep(r0, 0.25) : (ReptileStep?)null;
        var aggregateExpected = new float[d];
        var aggregateActual = new float[d];
        var priorExpected = Enumerable.Range(0, d).Select(c => (float)Math.Cos(c)).ToArray();
        var priorActual = (float[])priorExpected.Clone();

        var emptyExpected = exact.Combine(batch, rows, weights, method, trimAlpha, false, aggregateExpected, step is null ? default : priorExpected, step);
        var emptyActual = fast.Combine(batch, rows, weights, method, trimAlpha, false, aggregateActual, step is null ? default : priorActual, step);

        Assert.Equal(3, emptyExpected); // the NaN cells (i % 3 == 0); an infinite cell gives an infinite mean
        Assert.Equal(emptyExpected, emptyActual);
        for (var c = 0; c < d; c++)
        {
            Assert.True(Same(aggregateExpected[c], aggregateActual[c]), $"seed {seed}, column {c}: {aggregateActual[c]} vs {aggregateExpected[c]}");
            if (step is not null)
                Assert.True(Same(priorExpected[c], priorActual[c]), $"seed {seed}, prior column {c}: {priorActual[c]} vs {priorExpected[c]}");
        }
        foreach (var c in poisoned.Where((_, i) => i % 3 == 0))
        {
            Assert.True(float.IsNaN(aggregateActual[c]));
            if (step is not null) Assert.Equal((float)Math.Cos(c), priorActual[c]);
        }
    }

    /// <summary>The AVX2 kernel sums each group of eight rows in float32: with weights as the caller gives them
    /// (not normalised) and values near float.MaxValue, that partial must not overflow where the float64 path gives
    /// a finite mean; values with a large common offset keep §13's tolerance.</summary>
    [Theory]
    [InlineData(3e38f, 0f)]
    [InlineData(float.MaxValue, 0f)]
    [InlineData(-float.MaxValue, 0f)]
    [InlineData(3.39e38f, 1e35f)]
    [InlineData(1000f, 0.01f)]
    [InlineData(-2e5f, 3f)]
    public void Large_values_and_unnormalised_weights_agree_with_the_exact_path(float offset, float spread)
    {
        const int n = 19, d = 77;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < d; c++) row[c] = offset + spread * (float)(rng.NextDouble() * 2 - 1);
        }
        batch.MarkChanged();
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = Enumerable.Range(0, n).Select(_ => 1 + 3 * rng.NextDouble()).ToArray();
        using var fast = new CpuBackend(maxDegreeOfParallelism: 1);
        using var exact = new CpuBackend(maxDegreeOfParallelism: 1) { UseFastKernels = false };
        var expected = new float[d];
        var actual = new float[d];
        Assert.Equal(0, exact.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, expected, default, null));
        Assert.Equal(0, fast.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, actual, default, null));
        for (var c = 0; c < d; c++)
        {
            Assert.True(float.IsFinite(actual[c]), $"seed {seed}, column {c}: {actual[c]}");
            Assert.True(Same(expected[c], actual[c]), $"seed {seed}, column {c}: {actual[c]} vs {expected[c]}");
        }
    }

    /// <summary>Cells at float.MaxValue and weights whose float32 quotients add up to a hair over 1: the float32
    /// partial of eight rows overflowed to infinity, which the guard let pass as "a non-finite cell", and the fused
    /// step wrote it into the prior (the reference's mean is float.MaxValue).</summary>
    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(11)]
    [InlineData(19)]
    public void Cells_at_float_max_give_float_max_and_keep_the_prior_finite(int n)
    {
        const int d = 17;
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            batch.Row(r).Fill(float.MaxValue);
            batch.Confidences[r] = r < n / 2 ? 0.1 : 0.6;
        }
        batch.MarkChanged();
        var config = new CrossMetaConfig(Method: AggregationMethod.Mean, OutlierFilter: false, DiversityEntropyTarget: null);
        var reference = CrossDomainMetaAggregator.Aggregate(KeyedUpdates.From(batch), config);
        Assert.All(reference.Vector, v => Assert.Equal(float.MaxValue, (float)v));
        var prior = new float[d];
        var aggregate = new float[d];
        var result = new DenseCrossDomainAggregator(new CpuBackend(), config)
            .AggregateAndStep(batch, prior, new ReptileStep(ReptileRule.Interpolate, 0.5), aggregate);
        Assert.Empty(result.EmptyColumns);
        Assert.All(aggregate, v => Assert.Equal(float.MaxValue, v));
        Assert.All(prior, v => Assert.Equal(float.MaxValue / 2, v));
    }

    /// <summary>
    /// Values that cancel (<see cref="BatchScenario.SpreadPairs"/>, equal weights): each column's mean is near a
    /// small centre while its terms are ten thousand times larger, so the float32 partials of eight rows would miss
    /// §13's tolerance several times over; the kernel must find those blocks and sum them in float64. 19 and 20 rows
    /// add float64 leftover rows after the float32 groups (the check must see the whole column's mean); seven
    /// columns are all scalar tail (values scaled to 1e6 there, so each column misses the tolerance unguarded).
    /// </summary>
    [Theory]
    [InlineData(64, null, 1031, 1f)]
    [InlineData(19, null, 1031, 1f)]
    [InlineData(20, ReptileRule.Interpolate, 1031, 1f)]
    [InlineData(33, ReptileRule.Delta, 1031, 1f)]
    [InlineData(64, null, 7, 100f)]
    [InlineData(24, ReptileRule.Interpolate, 7, 100f)]
    public void Values_that_cancel_keep_the_tolerance(int n, ReptileRule? rule, int d, float scale)
    {
        var seed = TestSeed.Next();
        var batch = BatchScenario.SpreadPairs.Make(seed, n, d);
        for (var i = 0; i < n; i++)
        {
            var row = batch.Row(i);
            for (var c = 0; c < d; c++) row[c] *= scale;
        }
        batch.MarkChanged();
        var step = rule is { } r ? new ReptileStep(r, 0.3) : (ReptileStep?)null;
        var (expected, actual) = FastAndExactCombine.Run(batch, AggregationMethod.Mean, 0.1, step);
        for (var c = 0; c < d; c++)
            Assert.True(Same(expected[c], actual[c]), $"seed {seed}, {n} rows, {rule}, column {c}: {actual[c]} vs {expected[c]}");
    }

    /// <summary>
    /// Nine rows: the first eight are summed in float32, the ninth in float64. A large value in the float32 rows
    /// cancelled by the ninth row leaves a small mean whose float32 error is far outside the tolerance, though the
    /// float32 rows alone hold no large negative value: the guard must bound those rows by their own sum, not by
    /// the finished mean.
    /// </summary>
    [Fact]
    public void Float32_rows_cancelled_by_the_leftover_rows_keep_the_tolerance()
    {
        const int n = 9, d = 64;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d);
        for (var c = 0; c < d; c++)
        {
            var large = 1e6f * (1 + rng.NextSingle());
            batch.Row(0)[c] = large;
            for (var r = 1; r < 8; r++) batch.Row(r)[c] = rng.NextSingle() - 0.5f;
            batch.Row(8)[c] = -large;
        }
        batch.MarkChanged();
        var (expected, actual) = FastAndExactCombine.Run(batch, AggregationMethod.Mean, 0.1, step: null);
        for (var c = 0; c < d; c++)
            Assert.True(Same(expected[c], actual[c]), $"seed {seed}, column {c}: {actual[c]} vs {expected[c]}");
    }

    private static bool Same(float expected, float actual) =>
        float.IsNaN(expected) ? float.IsNaN(actual) :
        float.IsInfinity(expected) ? expected == actual :
        Math.Abs(expected - actual) <= 1e-4 + 1e-4 * Math.Abs(expected);

    /// <summary>
    /// A lone domain (the online Reptile step's usual round) takes a shortcut: its weighted mean is its row. Every
    /// float must equal the exact path's, for the aggregate and both step rules, with NaN and infinite cells, a scalar
    /// tail, tiny and huge weights, and a zero weight (no shortcut: every column empty).
    /// </summary>
    [Theory]
    [InlineData(0.37, null)]
    [InlineData(1e-30, ReptileRule.Interpolate)]
    [InlineData(1e30, ReptileRule.Delta)]
    [InlineData(0.0, ReptileRule.Interpolate)]
    public void A_lone_row_is_its_own_mean_as_the_exact_path_finds(double weight, ReptileRule? rule)
    {
        const int d = 1029;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(2, d);
        var row = batch.Row(1);
        for (var c = 0; c < d; c++) row[c] = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-20, 20)));
        row[5] = float.NaN;
        row[513] = float.PositiveInfinity;
        row[1027] = float.NegativeInfinity;
        row[1028] = float.NaN;
        batch.MarkChanged();
        int[] rows = [1];
        double[] weights = [weight];
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        var step = rule is { } r0 ? new ReptileStep(r0, 0.25) : (ReptileStep?)null;
        var aggregateExpected = new float[d];
        var aggregateActual = new float[d];
        var priorExpected = Enumerable.Range(0, d).Select(c => c % 97 == 0 ? float.NaN : (float)Math.Sin(c)).ToArray();
        var priorActual = (float[])priorExpected.Clone();

        var emptyExpected = exact.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, aggregateExpected, step is null ? default : priorExpected, step);
        var emptyActual = fast.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, aggregateActual, step is null ? default : priorActual, step);

        Assert.Equal(weight > 0 ? 2 : d, emptyExpected);
        Assert.Equal(emptyExpected, emptyActual);
        for (var c = 0; c < d; c++)
        {
            Assert.True(Same(aggregateExpected[c], aggregateActual[c]), $"seed {seed}, column {c}: {aggregateActual[c]} vs {aggregateExpected[c]}");
            if (step is not null)
                Assert.True(Same(priorExpected[c], priorActual[c]), $"seed {seed}, prior column {c}: {priorActual[c]} vs {priorExpected[c]}");
        }
    }

    /// <summary>
    /// Two domains sending +m and -m beside honest ones: the reference's q·x terms cancel exactly (the same product
    /// with opposite signs), the fused multiply-adds kept each product's rounding error: 0.33319286 for 1/3 at
    /// m = 1e13 (past §13's tolerance), -880 at 1e20. Three rows take the float64 accumulators, seventeen the
    /// float32 partials first (whose bound fails and sends the block to float64), in whole vectors and the tail.
    /// </summary>
    [Theory]
    [InlineData(3, 1e13f)]
    [InlineData(3, 1e20f)]
    [InlineData(3, float.MaxValue)]
    [InlineData(17, 1e13f)]
    [InlineData(17, 3e38f)]
    public void Huge_values_that_cancel_give_the_references_mean(int n, float m)
    {
        const int d = 37;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d);
        for (var c = 0; c < d; c++)
        {
            batch.Row(0)[c] = m;
            batch.Row(1)[c] = -m;
            for (var r = 2; r < n; r++) batch.Row(r)[c] = (float)(rng.NextDouble() * 2 - 1);
        }
        for (var r = 0; r < n; r++) batch.Confidences[r] = 0.2 + 0.8 * rng.NextDouble();
        // The pair weighs the same, so its terms cancel in the reference.
        batch.Confidences[1] = batch.Confidences[0];
        batch.MarkChanged();
        var config = new CrossMetaConfig(Method: AggregationMethod.Mean, OutlierFilter: false, DiversityEntropyTarget: null);
        KeyedUpdates.AssertDenseAgreesWithReference(batch, config, $"seed {seed}, n={n}, m={m}");
    }
}
