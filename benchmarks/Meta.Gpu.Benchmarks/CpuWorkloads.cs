using BenchmarkDotNet.Attributes;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Benchmarks;

/// <summary>
/// The standard cpu workloads of DESIGN §13 on the <c>cpu</c> backend's primitives: the dense form, confidence
/// weights, no mask, outlier filter off, diversity on (target 0.9, balanced on the host in setup: N values),
/// trim_alpha 0.1. <c>pipeline_trimmed_mean</c> is the whole §4 round (eligibility, host decisions, combine);
/// <c>pipeline_default_config</c> the same round with the library's default configuration, whose outlier pass
/// (column medians, then every row's distance to them) reads the batch twice more. The <c>_half_frozen</c> cases
/// run on a batch whose every other block of 64 columns holds one value in all rows (a frozen layer: the domains
/// adapted only part of the model), which the selection kernels once sent to their slow paths; <c>_quantised</c> on
/// the standard batch rounded to steps of 1/8 (values tie at a trim threshold in most columns, and zeros of both
/// signs sit at the median of most). <c>weighted_median_equal_weights</c> gives every row the same weight, as
/// <c>weighting=uniform</c> does: every pick then lies on S/2.
/// </summary>
public class CpuWorkloads
{
    private const double TrimAlpha = 0.1;

    private DomainBatch batch = null!;
    private DomainBatch halfFrozen = null!;
    private DomainBatch quantised = null!;
    private CpuBackend backend = null!;
    private DenseCrossDomainAggregator pipeline = null!;
    private DenseCrossDomainAggregator pipelineDefault = null!;
    private int[] rows = [];
    private double[] weights = [];
    private double[] equalWeights = [];
    private float[] aggregate = [];
    private float[] prior = [];
    private float[] stepAggregate = [];

    [ParamsSource(nameof(Shapes))]
    public BatchShape Shape { get; set; }

    public static IEnumerable<BatchShape> Shapes => [new(64, 1 << 20), new(13, 100_003)];

    [GlobalSetup]
    public void Setup()
    {
        var (n, d) = (Shape.N, Shape.D);
        batch = new DomainBatch(n, d);
        Parallel.For(0, n, r =>
        {
            var rng = new Random(1000 + r);
            var row = batch.Row(r);
            for (var c = 0; c < row.Length; c++) row[c] = (float)(Math.Sin(c * 0.001) + 0.3 * (rng.NextDouble() - 0.5));
        });
        var rng = new Random(7);
        for (var r = 0; r < n; r++) batch.Confidences[r] = 0.2 + 0.8 * rng.NextDouble();
        batch.MarkChanged();
        halfFrozen = new DomainBatch(n, d);
        Parallel.For(0, n, r =>
        {
            var source = batch.Row(r);
            var row = halfFrozen.Row(r);
            for (var c = 0; c < row.Length; c++) row[c] = (c / 64) % 2 == 0 ? (float)Math.Sin(c * 0.001) : source[c];
        });
        for (var r = 0; r < n; r++) halfFrozen.Confidences[r] = batch.Confidences[r];
        halfFrozen.MarkChanged();
        quantised = new DomainBatch(n, d);
        Parallel.For(0, n, r =>
        {
            var source = batch.Row(r);
            var row = quantised.Row(r);
            for (var c = 0; c < row.Length; c++) row[c] = MathF.Round(source[c] * 8f) / 8f;
        });
        for (var r = 0; r < n; r++) quantised.Confidences[r] = batch.Confidences[r];
        quantised.MarkChanged();
        rows = Enumerable.Range(0, n).ToArray();
        weights = new double[n];
        DiversityBalancing.Balance(batch.Confidences, 0.9, weights);
        equalWeights = Enumerable.Repeat(1.0 / n, n).ToArray();
        aggregate = new float[d];
        prior = new float[d];
        stepAggregate = batch.Row(0).ToArray();
        backend = new CpuBackend();
        pipeline = new DenseCrossDomainAggregator(backend, CrossMetaConfig.Default with { OutlierFilter = false });
        pipelineDefault = new DenseCrossDomainAggregator(backend, CrossMetaConfig.Default);
    }

    [GlobalCleanup]
    public void Cleanup() => backend.Dispose();

    [Benchmark, BenchmarkCategory("weighted_mean")]
    public int WeightedMean() => Combine(AggregationMethod.Mean, aggregate, default, null);

    [Benchmark, BenchmarkCategory("reptile_step")]
    public int ReptileStep() => Combine(AggregationMethod.Mean, default, prior, new ReptileStep(ReptileRule.Interpolate, 0.1));

    /// <summary>The host step of a dense prior toward an aggregate already made (<see cref="DenseReptileOptimizer.Apply"/>):
    /// reads the aggregate and the prior, writes the prior; its bytes are the aggregate's, D x 4.</summary>
    [Benchmark, BenchmarkCategory("reptile_step_on_aggregate")]
    public void ReptileStepOnAggregate() => DenseReptile.Apply(prior, stepAggregate, new ReptileStep(ReptileRule.Interpolate, 0.1));

    [Benchmark, BenchmarkCategory("trimmed_mean")]
    public int TrimmedMean() => Combine(AggregationMethod.TrimmedMean, aggregate, default, null);

    /// <summary>trim_alpha 0.2: k + 1 = 13 at 64 rows (lists of sixteen) and 3 at 13 rows, off the standard
    /// trim's lists of seven.</summary>
    [Benchmark, BenchmarkCategory("trimmed_mean_alpha_0.2")]
    public int TrimmedMeanWiderTrim() =>
        backend.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.2, false, aggregate, default, null);

    [Benchmark, BenchmarkCategory("trimmed_mean_half_frozen")]
    public int TrimmedMeanHalfFrozen() =>
        backend.Combine(halfFrozen, rows, weights, AggregationMethod.TrimmedMean, TrimAlpha, false, aggregate, default, null);

    [Benchmark, BenchmarkCategory("trimmed_mean_quantised")]
    public int TrimmedMeanQuantised() =>
        backend.Combine(quantised, rows, weights, AggregationMethod.TrimmedMean, TrimAlpha, false, aggregate, default, null);

    [Benchmark, BenchmarkCategory("median")]
    public int Median() => Combine(AggregationMethod.Median, aggregate, default, null);

    [Benchmark, BenchmarkCategory("weighted_median")]
    public int WeightedMedian() => Combine(AggregationMethod.WeightedMedian, aggregate, default, null);

    [Benchmark, BenchmarkCategory("weighted_median_half_frozen")]
    public int WeightedMedianHalfFrozen() =>
        backend.Combine(halfFrozen, rows, weights, AggregationMethod.WeightedMedian, TrimAlpha, false, aggregate, default, null);

    /// <summary>The quantised batch's weighted median picks a zero in most columns, of either sign by row.</summary>
    [Benchmark, BenchmarkCategory("weighted_median_quantised")]
    public int WeightedMedianQuantised() =>
        backend.Combine(quantised, rows, weights, AggregationMethod.WeightedMedian, TrimAlpha, false, aggregate, default, null);

    [Benchmark, BenchmarkCategory("weighted_median_equal_weights")]
    public int WeightedMedianEqualWeights() =>
        backend.Combine(batch, rows, equalWeights, AggregationMethod.WeightedMedian, TrimAlpha, false, aggregate, default, null);

    [Benchmark, BenchmarkCategory("fused_trimmed_mean_reptile")]
    public int FusedTrimmedMeanReptile() => Combine(AggregationMethod.TrimmedMean, default, prior, new ReptileStep(ReptileRule.Interpolate, 0.1));

    [Benchmark, BenchmarkCategory("pipeline_trimmed_mean")]
    public int PipelineTrimmedMean() => pipeline.Aggregate(batch, aggregate).Meta.Participants;

    [Benchmark, BenchmarkCategory("pipeline_default_config")]
    public int PipelineDefaultConfig() => pipelineDefault.Aggregate(batch, aggregate).Meta.Participants;

    private int Combine(AggregationMethod method, Span<float> into, Span<float> stepPrior, ReptileStep? step) =>
        backend.Combine(batch, rows, weights, method, TrimAlpha, false, into, stepPrior, step);
}
