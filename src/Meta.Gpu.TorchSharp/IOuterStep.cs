using Meta.Gpu.Compute;

namespace Meta.Gpu.TorchSharp;

/// <summary>
/// The outer step of a meta-round: combines the domains' adapted parameters (the rows of a
/// <see cref="DomainBatch"/>, with their confidences) and moves the prior toward the combination with a Reptile
/// step of size beta. The training loop owns the batch and the prior; an implementation may keep device copies
/// between rounds (<see cref="DomainBatch.Version"/> says when the rows changed).
/// </summary>
public interface IOuterStep : IDisposable
{
    /// <summary>The compute backend that runs the step ("cpu", "cuda", ...).</summary>
    string Backend { get; }

    /// <summary>Aggregates <paramref name="batch"/> and applies prior += beta * (aggregate - prior) in place. A
    /// column no kept row has a value for leaves the prior's value unchanged.</summary>
    OuterStepResult Step(DomainBatch batch, Span<float> prior, double beta);
}

/// <summary>What an outer step did: how many domains took part (after eligibility and outlier rules), which were
/// dropped as outliers, and the aggregation's diagnostics.</summary>
public sealed record OuterStepResult(
    int Participants,
    IReadOnlyList<string> Outliers,
    double ConfidenceMean,
    double EffectiveDomains,
    string Method);
