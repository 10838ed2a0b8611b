using BenchmarkDotNet.Attributes;
using Meta.Gpu.Compute;
using Meta.Gpu.Kernels;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Benchmarks;

/// <summary>
/// Aggregation per method, backend and size through the engine's entry point (<see cref="DenseCrossDomainAggregator"/>:
/// row scan, host weights and balancing, combine), in the §13 standard configuration (confidence weights, no mask,
/// outlier filter off, diversity target 0.9, trim_alpha 0.1; steps: interpolate, beta 0.1). N in {16, 64, 256} x
/// D in {1K, 64K, 1M} on <c>cpu</c>; <c>ilgpu-cpu</c> (about a hundred times slower, it exists to test the kernels)
/// at D = 1K only; <c>cuda</c> at every size when a CUDA device is present; plus one odd shape a backend (33 x 65,537;
/// <c>ilgpu-cpu</c> 33 x 1,027).
/// </summary>
/// <remarks>
/// The full matrix is long (the 256 x 1M cells alone take minutes on 2 cores), so it runs only when asked for:
/// <c>--matrix</c> adds it to the run; select cells with BenchmarkDotNet's own flags, e.g.
/// <c>--matrix --filter '*AggregationMatrix.TrimmedMean*'</c> or <c>--matrix --anyCategories median</c>. It uses a
/// shorter job (1 warm-up, 3 iterations): its large cells take seconds per call.
/// </remarks>
[WarmupCount(1), IterationCount(3)]
public class AggregationMatrix
{
    private static readonly int[] Ns = [16, 64, 256];
    private static readonly int[] Ds = [1 << 10, 1 << 16, 1 << 20];

    private DomainBatch batch = null!;
    private DomainBatch oneRow = null!;
    private IComputeBackend backend = null!;
    private float[] aggregate = [];
    // The prior stays the same object round after round, as the dense lane's and meta-gpu bench's do: a device
    // backend keeps it resident and uploads it once (a span prior was uploaded again by every measured round).
    private ResidentPrior prior = null!;
    private readonly Dictionary<AggregationMethod, DenseCrossDomainAggregator> pipelines = [];
    private DenseCrossDomainAggregator stepAlone = null!;
    private static readonly ReptileStep Step = new(ReptileRule.Interpolate, 0.1);

    [ParamsSource(nameof(Cases))]
    public MatrixCase Case { get; set; }

    /// <summary>One odd shape a backend: N and D past a multiple of the vector width, the lane count and the 32-row
    /// groups, so that the remainder paths are timed too.</summary>
    private static readonly (int N, int D) Odd = (33, 65_537);

    public static IEnumerable<MatrixCase> Cases()
    {
        foreach (var n in Ns)
            foreach (var d in Ds)
                yield return new MatrixCase("cpu", n, d);
        yield return new MatrixCase("cpu", Odd.N, Odd.D);
        foreach (var n in Ns)
            yield return new MatrixCase("ilgpu-cpu", n, Ds[0]);
        yield return new MatrixCase("ilgpu-cpu", Odd.N, Ds[0] + 3);
        if (HasCuda())
        {
            foreach (var n in Ns)
                foreach (var d in Ds)
                    yield return new MatrixCase("cuda", n, d);
            yield return new MatrixCase("cuda", Odd.N, Odd.D);
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        var (n, d) = (Case.N, Case.D);
        batch = new DomainBatch(n, d);
        Parallel.For(0, n, r =>
        {
            var rng = new Random(1000 + r);
            var row = batch.Row(r);
            var bias = (float)(rng.NextDouble() - 0.5);
            for (var c = 0; c < row.Length; c++) row[c] = rng.NextSingle() * 2 - 1 + bias;
        });
        var random = new Random(7);
        for (var r = 0; r < n; r++) batch.Confidences[r] = 0.3 + 0.7 * random.NextDouble();
        oneRow = new DomainBatch(1, d);
        batch.Row(0).CopyTo(oneRow.Row(0));
        oneRow.Confidences[0] = 1;
        aggregate = new float[d];
        prior = new ResidentPrior(new float[d]);
        backend = Case.Backend == "cpu" || ComputeBackends.IsRegistered(Case.Backend)
            ? ComputeBackends.Create(Case.Backend)
            : IlgpuBackend.Create(Case.Backend);
        foreach (var method in Enum.GetValues<AggregationMethod>())
            pipelines[method] = new DenseCrossDomainAggregator(backend, Config(method));
        stepAlone = new DenseCrossDomainAggregator(backend, Config(AggregationMethod.Mean));
    }

    [GlobalCleanup]
    public void Cleanup() => backend.Dispose();

    [Benchmark, BenchmarkCategory("weighted_mean")]
    public int WeightedMean() => pipelines[AggregationMethod.Mean].Aggregate(batch, aggregate).Meta.Participants;

    [Benchmark, BenchmarkCategory("trimmed_mean")]
    public int TrimmedMean() => pipelines[AggregationMethod.TrimmedMean].Aggregate(batch, aggregate).Meta.Participants;

    [Benchmark, BenchmarkCategory("median")]
    public int Median() => pipelines[AggregationMethod.Median].Aggregate(batch, aggregate).Meta.Participants;

    [Benchmark, BenchmarkCategory("weighted_median")]
    public int WeightedMedian() => pipelines[AggregationMethod.WeightedMedian].Aggregate(batch, aggregate).Meta.Participants;

    [Benchmark, BenchmarkCategory("fused_trimmed_mean_reptile")]
    public int FusedTrimmedMeanReptile() => pipelines[AggregationMethod.TrimmedMean].AggregateAndStep(batch, prior, Step).Meta.Participants;

    /// <summary>The step alone: a one-domain batch (row 0) stepped onto the prior; GB/s counts that row's D x 4 bytes
    /// (<see cref="WorkloadBytes"/>), as <c>meta-gpu bench</c>'s <c>reptile_step</c> does.</summary>
    [Benchmark, BenchmarkCategory("reptile_step")]
    public int ReptileStep() => stepAlone.AggregateAndStep(oneRow, prior, Step).Meta.Participants;

    private static CrossMetaConfig Config(AggregationMethod method) =>
        new(Method: method, TrimAlpha: 0.1, Weighting: DomainWeighting.Confidence, OutlierFilter: false, DiversityEntropyTarget: 0.9);

    private static bool HasCuda()
    {
        try
        {
            return IlgpuBackend.ListDevices().Any(d => d.Kind == DeviceKind.Cuda && d.Usable);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }
}
