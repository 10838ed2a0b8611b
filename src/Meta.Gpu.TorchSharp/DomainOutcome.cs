namespace Meta.Gpu.TorchSharp;

/// <summary>
/// What a caller's inner loop reports for one domain after adapting the model from the prior: the domain's id,
/// its training loss before and after adaptation, how much the engine should trust the adapted parameters, and
/// any further metrics (published with the domain's policy pack).
/// </summary>
/// <param name="DomainId">The domain (task, tenant, site) the model adapted to.</param>
/// <param name="LossBefore">Loss of the prior on the domain's data, before the first inner step.</param>
/// <param name="LossAfter">Loss of the adapted parameters on the same data.</param>
/// <param name="Confidence">In [0, 1]; the aggregator weights by it and drops rows below its
/// <c>min_confidence</c>.</param>
/// <param name="Metrics">Extra metrics (snake_case names) for the policy pack's <c>metrics</c>; may be null. A name the
/// loop writes itself (<c>gain_p50</c>, <c>loss_after</c>, <c>loss_before</c>, <c>meta_score</c>, <c>stability_avg</c>)
/// replaces the loop's figure, so an inner loop with its own reward can give the agent's learner that instead; a
/// figure that is not finite is left out, as the loop's own are.</param>
public sealed record DomainOutcome(
    string DomainId,
    double LossBefore,
    double LossAfter,
    double Confidence,
    IReadOnlyDictionary<string, double>? Metrics = null)
{
    /// <summary>Relative improvement of the loss by adaptation, (before - after) / before; 0 when before is not
    /// positive.</summary>
    public double Gain => LossBefore > 0 && double.IsFinite(LossBefore) ? (LossBefore - LossAfter) / LossBefore : 0;
}
