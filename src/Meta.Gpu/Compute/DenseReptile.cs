using System.Runtime.CompilerServices;

namespace Meta.Gpu.Compute;

/// <summary>
/// The Reptile step on a dense float32 prior (DESIGN §8 (d), §10 dense lane): <c>interpolate</c> moves each value
/// a share beta toward the aggregate, <c>delta</c> adds beta times the aggregate. A NaN aggregate value (a column
/// no kept domain sent) leaves the prior's value unchanged. Arithmetic is float64, the result float32.
/// </summary>
/// <remarks>
/// A NaN prior value is a column the prior does not have yet (a fresh dense prior): as for a key the prior lacks
/// in §8 (b)/(d), <c>interpolate</c> adopts the aggregate value and <c>delta</c> starts from 0.
/// </remarks>
public static class DenseReptile
{
    /// <summary>One value of the step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float StepValue(float prior, float aggregate, ReptileStep step)
    {
        if (float.IsNaN(aggregate)) return prior;
        if (float.IsNaN(prior))
            return step.Rule == ReptileRule.Interpolate ? aggregate : (float)(step.Beta * aggregate);
        return step.Rule == ReptileRule.Interpolate
            ? (float)(prior + step.Beta * ((double)aggregate - prior))
            : (float)(prior + step.Beta * aggregate);
    }

    /// <summary>Steps <paramref name="prior"/> toward <paramref name="aggregate"/> (same length) in place.</summary>
    public static void Apply(Span<float> prior, ReadOnlySpan<float> aggregate, ReptileStep step)
    {
        if (prior.Length != aggregate.Length)
            throw new ArgumentException($"prior has {prior.Length} values but the aggregate {aggregate.Length}", nameof(aggregate));
        for (var i = 0; i < prior.Length; i++) prior[i] = StepValue(prior[i], aggregate[i], step);
    }
}
