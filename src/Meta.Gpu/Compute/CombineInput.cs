using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute;

/// <summary>
/// The checks every backend's <see cref="IComputeBackend.Combine(DomainBatch, ReadOnlySpan{int}, ReadOnlySpan{double}, AggregationMethod, double, bool, Span{float}, Span{float}, ReptileStep?)"/> makes before it touches the aggregate or the
/// prior, so that all of them answer bad input with the same exception and message.
/// </summary>
internal static class CombineInput
{
    /// <summary>Throws for a weight that is negative or not finite, and for a trim_alpha outside [0, 0.5).</summary>
    public static void CheckWeightsAndTrim(ReadOnlySpan<double> weights, double trimAlpha)
    {
        foreach (var w in weights)
            if (!(w >= 0) || !double.IsFinite(w)) throw new ArgumentException(FormattableString.Invariant($"weights must be finite and >= 0, got {w}"), "weights");
        if (!(trimAlpha >= 0 && trimAlpha < 0.5)) throw new ArgumentOutOfRangeException("trimAlpha", trimAlpha, "trim_alpha must be in [0, 0.5)");
    }

    /// <summary>Throws for a method outside the enum (a cast integer), which would fail only inside a kernel.</summary>
    public static void CheckMethod(AggregationMethod method)
    {
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "not an aggregation method");
    }

    /// <summary>Throws for a step whose beta is NaN or infinite: every prior value would become NaN, which the step
    /// later reads as "not set" and replaces with the aggregate, losing what was learned. A rule outside the enum
    /// would be taken as the delta rule.</summary>
    public static void CheckStep(ReptileStep? step)
    {
        if (step is { } s && !double.IsFinite(s.Beta)) throw new ArgumentOutOfRangeException(nameof(step), s.Beta, "beta must be finite");
        if (step is { } r && !Enum.IsDefined(r.Rule)) throw new ArgumentOutOfRangeException(nameof(step), r.Rule, "not a Reptile rule");
    }

    /// <summary>Throws for a batch with a mask in <see cref="IComputeBackend.CombineUnscanned(DomainBatch, ReadOnlySpan{int}, ReadOnlySpan{double}, AggregationMethod, double, Span{float}, Span{float}, ReptileStep?)"/>: a row there may
    /// have no present cell, which only the row scan can tell.</summary>
    public static void CheckUnscanned(DomainBatch batch, string backend)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Mask is not null) throw new ArgumentException($"the {backend} backend combines unscanned rows only on a batch without a mask", nameof(batch));
    }
}
