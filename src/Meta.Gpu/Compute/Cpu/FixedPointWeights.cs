using System.Runtime.CompilerServices;
namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The rows' weights in fixed point for the weighted median kernel: <c>q = round(w · 2^30 / S)</c>, so the mass
/// of any set of cells is an exact int32 sum (order-free, eight columns per vector, no float64 gathers). Each q is
/// within half a unit of <c>w · 2^30 / S</c>, so a set of at most n cells is within n/2 units of its true mass;
/// the float64 running sums of DESIGN §4 step 6 are that close to the true mass too (up to rounding far below a
/// unit). A decision made on q with more than <see cref="Margin"/> units to spare is therefore the float64
/// decision; one closer than that is left to a float64 sum.
/// </summary>
internal readonly struct FixedPointWeights
{
    /// <summary>Units of the total mass S (2^30, so the sum of all q stays below int.MaxValue).</summary>
    private const double UnitsPerTotal = 1 << 30;

    /// <summary>q per row position, to be broadcast over the eight columns.</summary>
    public readonly int[] RowUnits;

    /// <summary>S, the float64 sum of the weights (array order).</summary>
    public readonly double Total;

    /// <summary><c>S/2 - 1e-12·S</c> in units (rounded): the running sum's crossing bar.</summary>
    public readonly int Threshold;

    /// <summary><c>S/2</c> in units (rounded): the centre of the take-the-mean band.</summary>
    public readonly int Half;

    /// <summary>Units by which a set's q sum may miss its float64 running sum (n/2, the rounding of the bars, spare).</summary>
    public readonly int Margin;

    /// <summary>Units beyond which a q sum is certainly outside the take-the-mean band (|running − S/2| ≤ 1e-12·S).</summary>
    public readonly int AverageMargin;

    /// <summary>Ranks below this cannot reach the bar even when they hold the heaviest rows.</summary>
    public readonly int FirstRank;

    /// <summary>This rank reaches the bar even when the ranks up to it hold the lightest rows.</summary>
    public readonly int LastRank;

    private FixedPointWeights(int[] units, double total, int threshold, int half, int margin, int averageMargin, int firstRank, int lastRank)
    {
        RowUnits = units;
        Total = total;
        Threshold = threshold;
        Half = half;
        Margin = margin;
        AverageMargin = averageMargin;
        FirstRank = firstRank;
        LastRank = lastRank;
    }

    /// <summary>
    /// The fixed-point form of <paramref name="weights"/>, or false where the running sum is not monotone in the
    /// rank or has no scale (a negative or non-finite weight, or S zero, subnormal or infinite): the caller takes the exact path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryCreate(ReadOnlySpan<double> weights, out FixedPointWeights result)
    {
        result = default;
        var n = weights.Length;
        var total = 0.0;
        foreach (var w in weights)
        {
            if (!(w >= 0) || double.IsInfinity(w)) return false;
            total += w;
        }
        if (!double.IsNormal(total)) return false;

        // Ratios to S, so no scale factor overflows for a tiny S.
        var units = new int[n];
        for (var r = 0; r < n; r++) units[r] = (int)Math.Round(weights[r] / total * UnitsPerTotal);
        var half = total / 2.0;
        var eps = ExactColumnRules.WeightedMedianSlack * total;
        var threshold = (int)Math.Round((half - eps) / total * UnitsPerTotal);
        // n/2 from the rounded q of the set's cells, 1 for the rounded bar, 1 spare for float64 rounding.
        var margin = n / 2 + 2;
        var averageMargin = margin + (int)Math.Ceiling(eps / total * UnitsPerTotal) + 1;

        // The walk's bar is threshold - margin: a rank whose q sum is below it certainly has not crossed.
        var sorted = (int[])units.Clone();
        Array.Sort(sorted);
        var bar = (long)threshold - margin;
        long heavy = 0, light = 0;
        int first = n - 1, last = n - 1;
        for (var j = 0; j < n; j++)
        {
            heavy += sorted[n - 1 - j];
            if (heavy >= bar)
            {
                first = j;
                break;
            }
        }
        for (var j = 0; j < n; j++)
        {
            light += sorted[j];
            if (light >= bar)
            {
                last = j;
                break;
            }
        }
        result = new FixedPointWeights(units, total, threshold, (int)Math.Round(half / total * UnitsPerTotal), margin, averageMargin, first, Math.Max(first, last));
        return true;
    }
}
