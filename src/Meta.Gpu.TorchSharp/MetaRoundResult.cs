namespace Meta.Gpu.TorchSharp;

/// <summary>One meta-round as the training loop saw it.</summary>
/// <param name="Round">1 for the first round.</param>
/// <param name="Beta">The outer step size used.</param>
/// <param name="Step">What the outer step did.</param>
/// <param name="LossBefore">Median over domains of the prior's loss before adaptation.</param>
/// <param name="LossAfter">Median over domains of the loss after adaptation.</param>
/// <param name="GainMedian">Median relative improvement by adaptation.</param>
/// <param name="AcceptRate">Share of domains whose gain reached the governed <c>g_min</c>.</param>
/// <param name="MetaScore">The median gain clipped to [-1, 1]: the reward the governance sees. A prior that has not
/// seen a domain's data starts near the domain's own loss scale, so the share of loss a few inner steps remove is
/// a scale-free measure of how good the prior is to adapt from; the median over the round's domains keeps one
/// hard domain from triggering a rollback.</param>
/// <param name="OuterStepMs">Time of the outer step (aggregation + Reptile step).</param>
/// <param name="RoundMs">Time of the whole round (inner loops, outer step, writing the prior back).</param>
/// <param name="RolledBack">True when the agent asked for a rollback and the prior was restored before this round.</param>
public sealed record MetaRoundResult(
    int Round,
    double Beta,
    OuterStepResult Step,
    double LossBefore,
    double LossAfter,
    double GainMedian,
    double AcceptRate,
    double MetaScore,
    double OuterStepMs,
    double RoundMs,
    bool RolledBack)
{
    /// <summary>Why the round's reports (its policy packs and <c>processing_metrics</c>) could not be published,
    /// or null. The round stands (its step is taken); governance did not hear of it.</summary>
    public string? ReportFailure { get; init; }
}
