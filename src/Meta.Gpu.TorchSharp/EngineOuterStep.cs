using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.TorchSharp;

/// <summary>
/// The engine's outer step: DESIGN §4 cross-domain aggregation of the batch (eligibility, outlier filter,
/// confidence weights, diversity balancing, trimmed mean by default) on a compute backend, fused with the
/// <c>interpolate</c> Reptile step onto the prior (<see cref="DenseCrossDomainAggregator.AggregateAndStep(DomainBatch, Span{float}, ReptileStep, Span{float})"/>).
/// </summary>
/// <remarks>The backend may keep the batch resident on its device between calls; the loop bumps
/// <see cref="DomainBatch.Version"/> whenever it writes new rows.</remarks>
public sealed class EngineOuterStep : IOuterStep
{
    private readonly DenseCrossDomainAggregator _aggregator;
    private bool _disposed;

    /// <param name="backend">The compute backend; disposed with this step.</param>
    /// <param name="config">Aggregation settings (default: the DESIGN §4 defaults).</param>
    public EngineOuterStep(IComputeBackend backend, CrossMetaConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _aggregator = new DenseCrossDomainAggregator(backend, config);
    }

    public string Backend => _aggregator.Backend.Name;

    public CrossMetaConfig Config => _aggregator.Config;

    public OuterStepResult Step(DomainBatch batch, Span<float> prior, double beta)
    {
        // Refused here, before the aggregator starts (the backends refuse as well, once reached).
        ObjectDisposedException.ThrowIf(_disposed, this);
        var result = _aggregator.AggregateAndStep(batch, prior, new ReptileStep(ReptileRule.Interpolate, beta));
        return new OuterStepResult(
            result.Meta.Participants,
            result.Meta.Outliers,
            result.Meta.ConfidenceMean,
            result.Meta.EffectiveDomains,
            AggregationNames.Of(result.Meta.Method));
    }

    public void Dispose()
    {
        _disposed = true;
        _aggregator.Backend.Dispose();
    }
}
