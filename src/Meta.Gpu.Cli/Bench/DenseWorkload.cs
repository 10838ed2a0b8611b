using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// One dense workload on one engine backend through the engine's own entry point,
/// <see cref="DenseCrossDomainAggregator"/>, in the standard configuration of DESIGN §13: the dense form, confidence
/// weights, no mask, outlier filter off, diversity on (target 0.9, host-side over N values), trim_alpha as
/// configured; Reptile steps use the <c>interpolate</c> rule with the configured beta.
/// </summary>
/// <remarks>
/// Each call is what a user's round costs: eligibility, weights and balancing on the host, then the combine pass.
/// With the standard data (no mask) the round reads the batch once, as a peer does; the
/// one-row <c>reptile_step</c> keeps its row scan on the cpu backend, and a device backend, whose step is atomic
/// (<see cref="IComputeBackend.StepsPriorAtomically"/>), reads the row once (see <see cref="DenseCrossDomainAggregator"/>).
/// <c>reptile_step</c> is the step alone: the one-row batch (row 0, a domain's update) as the
/// aggregate stepped onto the prior, so its bandwidth counts D x 4 bytes. <c>fused_trimmed_mean_reptile</c> never
/// writes the aggregate (§4: the fused path only steps the prior). Each call steps the same prior copy again, as
/// consecutive rounds do, through a <see cref="ResidentPrior"/>: a device backend keeps it on the device and, like
/// the batch, uploads it once, then copies the stepped prior back to the host every round.
/// </remarks>
public sealed class DenseWorkload
{
    private readonly DenseCrossDomainAggregator _aggregator;
    private readonly DomainBatch _batch;
    private readonly float[] _aggregate;
    private readonly ResidentPrior _prior;
    private readonly ReptileStep? _step;
    private readonly IlgpuBackend? _device;
    private readonly List<double> _kernelMs = [];
    private readonly List<int> _priorUploads = [];

    /// <summary>One <paramref name="workload"/> on <paramref name="backend"/> over <paramref name="data"/>, as
    /// <paramref name="options"/> set it, with <paramref name="weighting"/>: confidence, the standard workload's;
    /// <see cref="DomainWeighting.Uniform"/> only for the result a peer's unweighted trimmed mean is checked against
    /// (<see cref="EngineResults"/>).</summary>
    public DenseWorkload(string workload, IComputeBackend backend, BenchData data, BenchOptions options, DomainWeighting weighting = DomainWeighting.Confidence)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        Workload = workload;
        // The prior stays the same object round after round, as an optimizer's does: a device backend keeps it
        // resident and uploads it once.
        _prior = new ResidentPrior((float[])data.Prior.Clone());
        _aggregate = new float[data.D];
        var step = new ReptileStep(ReptileRule.Interpolate, options.Beta);
        (_batch, var method, _step) = workload switch
        {
            BenchWorkloads.WeightedMean => (data.Batch, AggregationMethod.Mean, (ReptileStep?)null),
            BenchWorkloads.TrimmedMean => (data.Batch, AggregationMethod.TrimmedMean, null),
            BenchWorkloads.Median => (data.Batch, AggregationMethod.Median, null),
            BenchWorkloads.WeightedMedian => (data.Batch, AggregationMethod.WeightedMedian, null),
            BenchWorkloads.FusedTrimmedMeanReptile => (data.Batch, AggregationMethod.TrimmedMean, step),
            BenchWorkloads.ReptileStep => (data.OneRow, AggregationMethod.Mean, step),
            _ => throw new ArgumentException($"not a dense workload: {workload}", nameof(workload)),
        };
        _aggregator = new DenseCrossDomainAggregator(backend, StandardConfig(method, options.TrimAlpha, options.OutlierFilter, weighting));
        _device = EngineBackends.Device(backend);
    }

    public string Workload { get; }

    /// <summary>Bytes of the batch this workload reads (the §13 effective-bandwidth numerator).</summary>
    public long Bytes => (long)_batch.Rows * _batch.Columns * sizeof(float);

    /// <summary>The §13 standard configuration for <paramref name="method"/>; <paramref name="outlierFilter"/> turns on
    /// the outlier pass with the library's default settings for it (<see cref="BenchOptions.OutlierFilter"/>).</summary>
    public static CrossMetaConfig StandardConfig(AggregationMethod method, double trimAlpha, bool outlierFilter = false, DomainWeighting weighting = DomainWeighting.Confidence) =>
        new(Method: method, TrimAlpha: trimAlpha, Weighting: weighting, OutlierFilter: outlierFilter, DiversityEntropyTarget: 0.9);

    /// <summary>Device backends: the device time of each round's kernels so far (<see cref="IlgpuBackend.LastKernelTime"/>), in
    /// milliseconds, one per call of <see cref="Run"/>; empty for cpu.</summary>
    public IReadOnlyList<double> KernelMs => _kernelMs;

    /// <summary>Device backends, workloads with a step: the prior's uploads in each call of <see cref="Run"/> so far
    /// (<see cref="IlgpuBackend.PriorUploads"/>); empty otherwise.</summary>
    public IReadOnlyList<int> PriorUploads => _priorUploads;

    /// <summary>What the last <see cref="Run"/> produced: the stepped prior for the step workloads, else the aggregate.</summary>
    public ReadOnlySpan<float> Output => _step is null ? _aggregate : _prior.Values;

    /// <summary>One round.</summary>
    public void Run()
    {
        var uploads = _device?.PriorUploads ?? 0;
        if (_step is { } step) _aggregator.AggregateAndStep(_batch, _prior, step);
        else _aggregator.Aggregate(_batch, _aggregate);
        if (_device is null) return;
        _kernelMs.Add(_device.LastKernelTime.TotalMilliseconds);
        if (_step is not null) _priorUploads.Add(_device.PriorUploads - uploads);
    }
}
