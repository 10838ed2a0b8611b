using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// One dense workload on one engine backend, in the standard configuration of DESIGN §13: the dense form,
/// confidence weights, no mask, outlier filter off, diversity on (target 0.9, host-side over N values),
/// trim_alpha as configured; Reptile steps use the <c>interpolate</c> rule with the configured beta.
/// </summary>
/// <remarks>
/// <c>reptile_step</c> is the backend's step alone: the one-row batch (row 0) combined as a mean and stepped onto
/// the prior, so its bandwidth counts D x 4 bytes. <c>fused_trimmed_mean_reptile</c> never writes the aggregate
/// (§4: the fused path only steps the prior). Each call steps the same prior copy again, as consecutive rounds do.
/// </remarks>
public sealed class DenseWorkload
{
    private readonly IComputeBackend _backend;
    private readonly DomainBatch _batch;
    private readonly int[] _rows;
    private readonly double[] _weights;
    private readonly float[] _aggregate;
    private readonly float[] _prior;
    private readonly AggregationMethod _method;
    private readonly bool _writeAggregate;
    private readonly ReptileStep? _step;
    private readonly double _trimAlpha;

    public DenseWorkload(string workload, IComputeBackend backend, BenchData data, BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        Workload = workload;
        _backend = backend;
        _trimAlpha = options.TrimAlpha;
        _prior = (float[])data.Prior.Clone();
        _aggregate = new float[data.D];
        var step = new ReptileStep(ReptileRule.Interpolate, options.Beta);
        (_batch, _method, _writeAggregate, _step) = workload switch
        {
            BenchWorkloads.WeightedMean => (data.Batch, AggregationMethod.Mean, true, (ReptileStep?)null),
            BenchWorkloads.TrimmedMean => (data.Batch, AggregationMethod.TrimmedMean, true, null),
            BenchWorkloads.Median => (data.Batch, AggregationMethod.Median, true, null),
            BenchWorkloads.WeightedMedian => (data.Batch, AggregationMethod.WeightedMedian, true, null),
            BenchWorkloads.FusedTrimmedMeanReptile => (data.Batch, AggregationMethod.TrimmedMean, false, step),
            BenchWorkloads.ReptileStep => (data.OneRow, AggregationMethod.Mean, false, step),
            _ => throw new ArgumentException($"not a dense workload: {workload}", nameof(workload)),
        };
        _rows = Enumerable.Range(0, _batch.Rows).ToArray();
        _weights = new double[_batch.Rows];
    }

    public string Workload { get; }

    /// <summary>Bytes of the batch this workload reads (the §13 effective-bandwidth numerator).</summary>
    public long Bytes => (long)_batch.Rows * _batch.Columns * sizeof(float);

    /// <summary>Rows of the batch this workload reads.</summary>
    public int Rows => _batch.Rows;

    /// <summary>One call: weights and diversity balancing on the host (N values), then the backend's pass over the matrix.</summary>
    public void Run()
    {
        DiversityBalancing.Balance(_batch.Confidences, CrossMetaConfig.Default.DiversityEntropyTarget, _weights);
        _backend.Combine(_batch, _rows, _weights, _method, _trimAlpha, missingAsZero: false,
            _writeAggregate ? _aggregate : default, _step is null ? default : _prior, _step);
    }
}
