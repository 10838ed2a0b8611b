using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Meta.Gpu.Compute.Cpu;

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

    /// <summary>Values per worker's share below which <see cref="Apply"/> steps on the calling thread alone: a
    /// worker's start costs microseconds, a share of this size about a tenth of a millisecond.</summary>
    internal const int ParallelShare = 1 << 17;

    /// <summary>Steps <paramref name="prior"/> toward <paramref name="aggregate"/> (same length) in place, each value
    /// exactly as <see cref="StepValue"/> steps it.</summary>
    /// <remarks>Eight values a vector, widened to float64 for the step and narrowed back, as the scalar form does
    /// one at a time (the same operations in the same order, no fused multiply-add, so the same bits); the tail
    /// goes through <see cref="StepValue"/>. A long prior is cut into shares of whole vectors stepped on the thread
    /// pool (one per core at most), each value on its own, so the bits do not depend on the cut. This is the host
    /// step of a dense prior whose aggregate is already made (<see cref="DenseReptileOptimizer.Apply"/>); the
    /// backends fuse the step into their combine.</remarks>
    public static unsafe void Apply(Span<float> prior, ReadOnlySpan<float> aggregate, ReptileStep step)
    {
        if (prior.Length != aggregate.Length)
            throw new ArgumentException($"prior has {prior.Length} values but the aggregate {aggregate.Length}", nameof(aggregate));
        var shares = Math.Min(Environment.ProcessorCount, prior.Length / ParallelShare);
        if (shares < 2)
        {
            ApplyInOrder(prior, aggregate, step);
            return;
        }
        var length = prior.Length;
        // Whole vectors per share, so that only the last share has a tail; rounded up, so that the shares cover
        // the prior.
        var width = Vector256<float>.Count;
        var share = ((length + shares - 1) / shares + width - 1) / width * width;
        fixed (float* p = prior)
        fixed (float* a = aggregate)
        {
            var (pp, ap) = ((nint)p, (nint)a);
            Parallel.For(0, shares, s =>
            {
                var start = s * share;
                var count = Math.Min(share, length - start);
                if (count > 0) ApplyInOrder(new Span<float>((float*)pp + start, count), new ReadOnlySpan<float>((float*)ap + start, count), step);
            });
        }
    }

    /// <summary><see cref="Apply"/> on the calling thread. Compiled optimised from its first call: in quickly compiled
    /// code the vector operations are calls.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyInOrder(Span<float> prior, ReadOnlySpan<float> aggregate, ReptileStep step)
    {
        var i = 0;
        if (PortableVector256.IsFast)
        {
            for (; i + Vector256<float>.Count <= prior.Length; i += Vector256<float>.Count)
            {
                var p = prior.Slice(i, Vector256<float>.Count);
                StepVector(Vector256.Create((ReadOnlySpan<float>)p), Vector256.Create(aggregate.Slice(i, Vector256<float>.Count)), step).CopyTo(p);
            }
        }
        for (; i < prior.Length; i++) prior[i] = StepValue(prior[i], aggregate[i], step);
    }

    /// <summary>Eight values of the step, each exactly as <see cref="StepValue"/> steps it: widened to float64,
    /// stepped with no fused multiply-add, narrowed back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> StepVector(Vector256<float> prior, Vector256<float> aggregate, ReptileStep step)
    {
        var (pl, ph) = Vector256.Widen(prior);
        var (al, ah) = Vector256.Widen(aggregate);
        var beta = Vector256.Create(step.Beta);
        var interpolate = step.Rule == ReptileRule.Interpolate;
        var stepped = interpolate
            ? Vector256.Narrow(pl + beta * (al - pl), ph + beta * (ah - ph))
            : Vector256.Narrow(pl + beta * al, ph + beta * ah);
        // A NaN prior value is a column the prior lacks (adopt, or start from 0); a NaN aggregate value a column no
        // domain sent (the prior's value stays).
        var fresh = interpolate ? aggregate : Vector256.Narrow(beta * al, beta * ah);
        var result = Vector256.ConditionalSelect(Vector256.Equals(prior, prior), stepped, fresh);
        return Vector256.ConditionalSelect(Vector256.Equals(aggregate, aggregate), result, prior);
    }
}
