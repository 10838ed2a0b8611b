using System.Runtime.CompilerServices;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The straightforward exact column rules of DESIGN §4 step 6 over one column's gathered present cells:
/// <c>values[j]</c> with <c>positions[j]</c> the index into the participating rows (ascending, so a lower
/// position is a lower row). Sorting uses (value, position) packed into one 64-bit key, so ties keep row order
/// and the result equals the float64 reference's decisions. This is the path every faster kernel is checked
/// against and falls back to.
/// </summary>
internal static class ExactColumnRules
{
    /// <summary>Relative slack of the weighted-median half-mass test (DESIGN §4 step 6).</summary>
    public const double WeightedMedianSlack = 1e-12;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Combine(
        AggregationMethod method, double trimAlpha, ReadOnlySpan<float> values, ReadOnlySpan<int> positions,
        ReadOnlySpan<double> weights, Span<long> keys)
    {
        if (values.IsEmpty) return double.NaN;
        switch (method)
        {
            case AggregationMethod.Mean:
                return WeightedMean(values, positions, weights);
            case AggregationMethod.TrimmedMean:
            {
                var n = values.Length;
                var k = TrimCount(trimAlpha, n);
                if (k == 0 || n == 1) return WeightedMean(values, positions, weights);
                SortKeys(values, keys[..n]);
                // q over all n present cells, as the reference normalises (see WeightedMean).
                var columnWeight = ColumnWeight(positions, weights);
                double num = 0, den = 0;
                for (var j = k; j < n - k; j++)
                {
                    var at = (int)(keys[j] & 0xFFFFFFFF);
                    var q = weights[positions[at]] / columnWeight;
                    num += q * values[at];
                    den += q;
                }
                return num / den;
            }
            case AggregationMethod.Median:
            {
                var n = values.Length;
                SortKeys(values, keys[..n]);
                var mid = n / 2;
                return n % 2 == 1
                    ? values[(int)(keys[mid] & 0xFFFFFFFF)]
                    : ((double)values[(int)(keys[mid - 1] & 0xFFFFFFFF)] + values[(int)(keys[mid] & 0xFFFFFFFF)]) / 2.0;
            }
            case AggregationMethod.WeightedMedian:
            {
                var n = values.Length;
                SortKeys(values, keys[..n]);
                return WeightedMedianOfSorted(values, positions, weights, keys[..n]);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(method), method, "unknown aggregation method");
        }
    }

    /// <summary>
    /// The pick of DESIGN §4 step 6 over cells already sorted in <paramref name="sorted"/>, in the reference's
    /// arithmetic (<see cref="ColumnRules.WeightedMedian"/>): q = p / the column's sum of p in row order, then S and
    /// the running sums over q in sorted order. A running sum at the edge of the ±1e-12·S band is decided by its
    /// last bits, so only the same operations in the same order make the reference's pick (the raw p summed
    /// without the division picked differently in such columns).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double WeightedMedianOfSorted(
        ReadOnlySpan<float> values, ReadOnlySpan<int> positions, ReadOnlySpan<double> weights, ReadOnlySpan<long> sorted)
    {
        var n = sorted.Length;
        // Positions ascend with the cells, so this is the row order the reference normalises in.
        var columnWeight = 0.0;
        for (var j = 0; j < n; j++) columnWeight += weights[positions[j]];
        var total = 0.0;
        for (var j = 0; j < n; j++) total += weights[positions[(int)(sorted[j] & 0xFFFFFFFF)]] / columnWeight;
        var half = total / 2.0;
        var eps = WeightedMedianSlack * total;
        var running = 0.0;
        for (var j = 0; j < n; j++)
        {
            var at = (int)(sorted[j] & 0xFFFFFFFF);
            running += weights[positions[at]] / columnWeight;
            if (running >= half - eps)
            {
                double v = values[at];
                if (Math.Abs(running - half) <= eps && j + 1 < n)
                    return (v + values[(int)(sorted[j + 1] & 0xFFFFFFFF)]) / 2.0;
                return v;
            }
        }
        // Reachable only through rounding in the running sum: the heaviest end is the answer then.
        return values[(int)(sorted[n - 1] & 0xFFFFFFFF)];
    }

    /// <summary>
    /// sum q x / sum q in the reference's arithmetic (<see cref="ColumnRules.WeightedMean"/>): q = p / the column's
    /// sum of p in row order, then q x and q added in row order. Where huge terms cancel (+m and -m from two domains
    /// of one weight, honest cells between them) only the same operations give its value: p x with the raw shares
    /// missed it by 4e-4 at m = 1e13 and by 2e21 at m = 1e38, far past §13's tolerance.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double WeightedMean(ReadOnlySpan<float> values, ReadOnlySpan<int> positions, ReadOnlySpan<double> weights)
    {
        var columnWeight = ColumnWeight(positions, weights);
        double num = 0, den = 0;
        for (var j = 0; j < values.Length; j++)
        {
            var q = weights[positions[j]] / columnWeight;
            num += q * values[j];
            den += q;
        }
        return num / den;
    }

    /// <summary>The column's sum of p over its present cells, in row order (positions ascend with the cells).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double ColumnWeight(ReadOnlySpan<int> positions, ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var position in positions) total += weights[position];
        return total;
    }

    /// <summary>The unweighted median in float64 (even count: mean of the two middle values); NaN for none.</summary>
    public static double Median(ReadOnlySpan<float> values, Span<long> keys)
    {
        var n = values.Length;
        if (n == 0) return double.NaN;
        SortKeys(values, keys[..n]);
        var mid = n / 2;
        return n % 2 == 1
            ? values[(int)(keys[mid] & 0xFFFFFFFF)]
            : ((double)values[(int)(keys[mid - 1] & 0xFFFFFFFF)] + values[(int)(keys[mid] & 0xFFFFFFFF)]) / 2.0;
    }

    /// <summary>floor(alpha * n) in float64, as the reference computes it.</summary>
    public static int TrimCount(double trimAlpha, int n) => (int)Math.Floor(trimAlpha * n);

    /// <summary>Fills <paramref name="keys"/> with (order-preserving value bits, index) and sorts them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SortKeys(ReadOnlySpan<float> values, Span<long> keys)
    {
        for (var j = 0; j < keys.Length; j++) keys[j] = ((long)OrderedBits(values[j]) << 32) | (uint)j;
        keys.Sort();
    }

    /// <summary>
    /// Maps a finite float to a signed integer with the same order; -0 and +0 map alike because the
    /// reference compares them as equal (their order then comes from the row).
    /// </summary>
    public static int OrderedBits(float value)
    {
        if (value == 0f) value = 0f;
        var bits = BitConverter.SingleToInt32Bits(value);
        return bits < 0 ? bits ^ 0x7FFFFFFF : bits;
    }
}
