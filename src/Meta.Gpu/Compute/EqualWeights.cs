using System.Runtime.CompilerServices;

namespace Meta.Gpu.Compute;

/// <summary>
/// Weights under which DESIGN §4's weighted median is the median, so that a backend may run its median kernel for it
/// (which carries no weights and no row payload): every weight equal, positive, and far from both ends of the float64
/// range. Then each column's q are all 1/n_d (as the reference computes them, within a few ulps), the running sums
/// are whole numbers of 1/n_d, and S/2 - 1e-12 S is first reached at rank ceil(n_d/2) - 1, which lies on S/2 (the mean
/// with the next value) exactly when n_d is even: the median's rule, by a margin of 1/(2 n_d) against rounding of
/// about n_d ulps. <c>weighting=uniform</c> gives such weights, and so do equal confidences.
/// </summary>
internal static class EqualWeights
{
    /// <summary>Whether <paramref name="weights"/> are all one positive value between 1e-300 and 1e300.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool MakeWeightedMedianTheMedian(ReadOnlySpan<double> weights)
    {
        if (weights.IsEmpty) return false;
        var w = weights[0];
        if (!(w >= 1e-300 && w <= 1e300)) return false;
        foreach (var x in weights)
        {
            if (x != w) return false;
        }
        return true;
    }
}
