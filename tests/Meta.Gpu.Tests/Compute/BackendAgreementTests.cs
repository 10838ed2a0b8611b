using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// Agreement of a compute backend with the float64 keyed reference (DESIGN §4, §13): values within 1e-4 abs +
/// 1e-4 rel, decisions identical (participants, rejected counts, outliers, which columns are empty). Seeds are
/// fresh each run and printed in every failure message (set METAGPU_TEST_SEED to replay one).
/// </summary>
/// <remarks>
/// To run the same checks on another backend, derive from this class and give <see cref="CreateBackend"/>; lower
/// <see cref="Sizes"/> for a slow backend. Batches up to <see cref="ReferenceCellLimit"/> cells are compared with
/// the keyed reference; larger ones with the cpu backend's exact path (itself checked against the reference).
/// </remarks>
public abstract class BackendAgreementTests
{
    public const double Tolerance = 1e-4;

    protected abstract IComputeBackend CreateBackend();

    /// <summary>(N, D) pairs to check: by default N in {1, 2, 5, 33, 257} x D in {1, 7, 1000, 65537}.</summary>
    protected virtual IReadOnlyList<(int N, int D)> Sizes { get; } =
        [.. from n in new[] { 1, 2, 5, 33, 257 } from d in new[] { 1, 7, 1000, 65537 } select (n, d)];

    /// <summary>Largest N x D compared with the keyed reference (it is dictionary-based and slow).</summary>
    protected virtual long ReferenceCellLimit => 20_000;

    /// <summary>Largest N x D checked at all (the others are skipped); the cpu backend checks every size.</summary>
    protected virtual long MaxCells => long.MaxValue;

    private static readonly AggregationMethod[] Methods =
        [AggregationMethod.Mean, AggregationMethod.TrimmedMean, AggregationMethod.Median, AggregationMethod.WeightedMedian];

    [Fact]
    public void Aggregate_agrees_with_the_reference_over_sizes_scenarios_and_methods()
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var backend = CreateBackend();
        var turn = 0;
        foreach (var (n, d) in Sizes)
        {
            var cells = (long)n * d;
            if (cells > MaxCells) continue;
            if (cells <= ReferenceCellLimit)
            {
                // Every method twice per size; the scenarios rotate so that each size sees most of them and the
                // suite as a whole sees every (scenario, method) pair.
                foreach (var method in Methods)
                for (var variant = 0; variant < 2; variant++)
                {
                    var scenario = BatchScenario.All[turn++ % BatchScenario.All.Count];
                    var caseSeed = rng.Next();
                    var config = RandomConfig(rng, method);
                    var batch = scenario.Make(caseSeed, n, d);
                    var context = $"seed {seed}, case seed {caseSeed}, N={n}, D={d}, {scenario}, {Describe(config)}";
                    var dense = new DenseCrossDomainAggregator(backend, config).Aggregate(batch);
                    AssertAgrees(KeyedReference.Aggregate(KeyedUpdates.From(batch), config), dense, context);
                }
            }
            else
            {
                // Large: fewer combinations, against the exact path.
                using var exact = new CpuBackend { UseFastKernels = false };
                var plans = cells > 1_000_000
                    ? new[] { (BatchScenario.Attacked, AggregationMethod.Mean) }
                    : new[] { (BatchScenario.Plain, AggregationMethod.TrimmedMean), (BatchScenario.TiedMasked, AggregationMethod.WeightedMedian) };
                foreach (var (scenario, method) in plans)
                {
                    var caseSeed = rng.Next();
                    // The largest batches skip the outlier pass: its exact medians dominate the suite's time.
                    var config = cells > 1_000_000 ? RandomConfig(rng, method) with { OutlierFilter = false } : RandomConfig(rng, method);
                    var batch = scenario.Make(caseSeed, n, d);
                    var context = $"seed {seed}, case seed {caseSeed}, N={n}, D={d}, {scenario}, {Describe(config)}";
                    var expected = new DenseCrossDomainAggregator(exact, config).Aggregate(batch);
                    var actual = new DenseCrossDomainAggregator(backend, config).Aggregate(batch);
                    AssertSameDense(expected, actual, context);
                }
            }
        }
    }

    /// <summary>(N, D) pairs for <see cref="Values_that_cancel_agree_with_the_reference"/>: by default sizes where the
    /// cpu backend's kernels run (eight columns and more; 13 rows take the tiled trimmed mean, 64 the streamed one,
    /// 20 the weighted mean's float32 groups of eight and float64 leftover rows), small enough for the keyed
    /// reference.</summary>
    protected virtual IReadOnlyList<(int N, int D)> CancellingSizes { get; } = [(13, 1000), (20, 997), (64, 300)];

    /// <summary>
    /// Values spread ten thousand times wider than their mean (<see cref="BatchScenario.SpreadPairs"/>): a backend
    /// that sums in float32 must notice where that misses §13's tolerance.
    /// </summary>
    [Fact]
    public void Values_that_cancel_agree_with_the_reference()
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var backend = CreateBackend();
        foreach (var (n, d) in CancellingSizes)
        {
            foreach (var method in Methods)
            foreach (var alpha in new[] { 0.1, 0.25 })
            {
                var caseSeed = rng.Next();
                var config = new CrossMetaConfig(Method: method, TrimAlpha: alpha, OutlierFilter: false, DiversityEntropyTarget: null);
                var batch = BatchScenario.SpreadPairs.Make(caseSeed, n, d);
                var context = $"seed {seed}, case seed {caseSeed}, N={n}, D={d}, {BatchScenario.SpreadPairs}, {Describe(config)}";
                var dense = new DenseCrossDomainAggregator(backend, config).Aggregate(batch);
                AssertAgrees(KeyedReference.Aggregate(KeyedUpdates.From(batch), config), dense, context);
            }
        }
    }

    [Theory]
    [InlineData(ReptileRule.Interpolate)]
    [InlineData(ReptileRule.Delta)]
    public void Fused_reptile_step_agrees_with_the_reference_step_on_the_reference_aggregate(ReptileRule rule)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var backend = CreateBackend();
        foreach (var (n, d) in Sizes)
        {
            if ((long)n * d > Math.Min(ReferenceCellLimit, MaxCells)) continue;
            foreach (var method in Methods)
            {
                var scenario = BatchScenario.All[rng.Next(BatchScenario.All.Count)];
                var caseSeed = rng.Next();
                var config = RandomConfig(rng, method);
                var batch = scenario.Make(caseSeed, n, d);
                var context = $"seed {seed}, case seed {caseSeed}, N={n}, D={d}, {scenario}, {Describe(config)}, {rule}";
                var prior = new float[d];
                for (var c = 0; c < d; c++) prior[c] = rng.Next(10) == 0 ? float.NaN : (float)(rng.NextDouble() * 2 - 1);
                var step = new ReptileStep(rule, 0.05 + 0.3 * rng.NextDouble());

                var reference = KeyedReference.Aggregate(KeyedUpdates.From(batch), config);
                var expected = (float[])prior.Clone();
                for (var c = 0; c < d; c++)
                {
                    var agg = reference.Values.TryGetValue(KeyedUpdates.KeyOf(c), out var v) ? (float)v : float.NaN;
                    expected[c] = DenseReptile.StepValue(prior[c], agg, step);
                }

                var aggregator = new DenseCrossDomainAggregator(backend, config);
                var fused = (float[])prior.Clone();
                var result = aggregator.AggregateAndStep(batch, fused, step);
                Assert.Null(result.Aggregate);
                AssertDecisions(reference, result, context);
                AssertClose(expected, fused, context + ", fused prior");

                // Asking for the aggregate too gives the same prior and the aggregate.
                var both = (float[])prior.Clone();
                var aggregate = new float[d];
                aggregator.AggregateAndStep(batch, both, step, aggregate);
                AssertClose(expected, both, context + ", prior with aggregate");
                AssertValues(reference, aggregate, context + ", aggregate");
            }
        }
    }

    [Fact]
    public void No_eligible_row_gives_an_all_empty_aggregate_and_leaves_the_prior()
    {
        using var backend = CreateBackend();
        var batch = new DomainBatch(3, 5);
        batch.Confidences.AsSpan().Fill(0.01);
        var prior = new float[] { 1, 2, 3, 4, 5 };
        var result = new DenseCrossDomainAggregator(backend).AggregateAndStep(batch, prior, new ReptileStep(ReptileRule.Interpolate, 0.5));
        Assert.Equal(0, result.Meta.Participants);
        Assert.Equal(3, result.Meta.RejectedLowConfidence);
        Assert.Equal(5, result.EmptyColumns.Count);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5 }, prior);
        Assert.Equal(1.0, result.Meta.WeightEntropy);
        Assert.Equal(0.0, result.Meta.EffectiveDomains);
    }

    private static CrossMetaConfig RandomConfig(Random rng, AggregationMethod method) => new(
        Method: method,
        TrimAlpha: rng.Next(3) switch { 0 => 0.1, 1 => 0.25, _ => 0.45 },
        Weighting: rng.Next(3) == 0 ? DomainWeighting.Uniform : DomainWeighting.Confidence,
        MissingKeys: rng.Next(2) == 0 ? MissingKeys.Ignore : MissingKeys.Zero,
        OutlierFilter: rng.Next(3) != 0,
        OutlierZ: rng.Next(4) == 0 ? 0.5 : 3.5,
        DiversityEntropyTarget: rng.Next(3) == 0 ? null : 0.9);

    private static string Describe(CrossMetaConfig c) => c.ToJson().ToJsonString();

    private static void AssertAgrees(KeyedResult expected, DenseAggregationResult actual, string context)
    {
        AssertDecisions(expected, actual, context);
        AssertValues(expected, actual.Aggregate!, context);
        AssertClose(expected.ConfidenceMean, actual.Meta.ConfidenceMean, context + ", confidence_mean");
        AssertClose(expected.WeightEntropy, actual.Meta.WeightEntropy, context + ", weight_entropy");
        AssertClose(expected.DiversityTemperature, actual.Meta.DiversityTemperature, context + ", diversity_temperature");
        AssertClose(expected.EffectiveDomains, actual.Meta.EffectiveDomains, context + ", effective_domains");
    }

    private static void AssertDecisions(KeyedResult expected, DenseAggregationResult actual, string context)
    {
        Assert.True(expected.Participants == actual.Meta.Participants, $"{context}: participants {actual.Meta.Participants}, expected {expected.Participants}");
        Assert.True(expected.RejectedEmpty == actual.Meta.RejectedEmpty, $"{context}: rejected_empty {actual.Meta.RejectedEmpty}, expected {expected.RejectedEmpty}");
        Assert.True(expected.RejectedNonfinite == actual.Meta.RejectedNonfinite, $"{context}: rejected_nonfinite {actual.Meta.RejectedNonfinite}, expected {expected.RejectedNonfinite}");
        Assert.True(expected.RejectedLowConfidence == actual.Meta.RejectedLowConfidence, $"{context}: rejected_low_confidence {actual.Meta.RejectedLowConfidence}, expected {expected.RejectedLowConfidence}");
        Assert.True(expected.Outliers.SequenceEqual(actual.Meta.Outliers),
            $"{context}: outliers [{string.Join(",", actual.Meta.Outliers)}], expected [{string.Join(",", expected.Outliers)}]");
        var expectedEmpty = Enumerable.Range(0, actual.Columns).Where(c => !expected.Values.ContainsKey(KeyedUpdates.KeyOf(c))).ToArray();
        Assert.True(expectedEmpty.SequenceEqual(actual.EmptyColumns),
            $"{context}: empty columns [{string.Join(",", actual.EmptyColumns.Take(10))}], expected [{string.Join(",", expectedEmpty.Take(10))}]");
    }

    /// <summary>Each column within 1e-4 abs + 1e-4 rel of the float64 reference's value, NaN where it has none.</summary>
    internal static void AssertValues(KeyedResult expected, float[] aggregate, string context)
    {
        for (var c = 0; c < aggregate.Length; c++)
        {
            if (expected.Values.TryGetValue(KeyedUpdates.KeyOf(c), out var v))
                AssertClose(v, aggregate[c], $"{context}, column {c}");
            else
                Assert.True(float.IsNaN(aggregate[c]), $"{context}, column {c}: {aggregate[c]}, expected NaN (no present cell)");
        }
    }

    private static void AssertSameDense(DenseAggregationResult expected, DenseAggregationResult actual, string context)
    {
        Assert.True(expected.Meta.Participants == actual.Meta.Participants, $"{context}: participants {actual.Meta.Participants}, expected {expected.Meta.Participants}");
        Assert.True(expected.Meta.RejectedEmpty == actual.Meta.RejectedEmpty && expected.Meta.RejectedNonfinite == actual.Meta.RejectedNonfinite &&
            expected.Meta.RejectedLowConfidence == actual.Meta.RejectedLowConfidence, $"{context}: rejected counts differ");
        Assert.True(expected.Meta.Outliers.SequenceEqual(actual.Meta.Outliers), $"{context}: outliers differ");
        Assert.True(expected.EmptyColumns.SequenceEqual(actual.EmptyColumns), $"{context}: empty columns differ");
        AssertClose(expected.Aggregate!, actual.Aggregate!, context);
    }

    private static void AssertClose(float[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var c = 0; c < expected.Length; c++)
        {
            if (float.IsNaN(expected[c])) Assert.True(float.IsNaN(actual[c]), $"{context}, column {c}: {actual[c]}, expected NaN");
            else AssertClose(expected[c], actual[c], $"{context}, column {c}");
        }
    }

    private static void AssertClose(double expected, double actual, string context)
    {
        var ok = Math.Abs(expected - actual) <= Tolerance + Tolerance * Math.Abs(expected);
        if (!ok) Assert.Fail($"{context}: {actual:R}, expected {expected:R} (within 1e-4 abs + 1e-4 rel)");
    }
}
