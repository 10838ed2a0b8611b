namespace Meta.Gpu.Learning.Aggregation;

/// <summary>
/// The column combine rules of DESIGN §4 step 6, in float64, over one column's present cells. Weights are the
/// rows' p; each rule renormalises them over the column's present cells (q_i = p_i / sum of present p) as the
/// design states. Sorting is by (value, row), so equal values keep row order. These are the reference rules the
/// compute backends are checked against.
/// </summary>
public static class ColumnRules
{
    /// <summary>Relative slack of the weighted-median half-mass test: eps = 1e-12 * S.</summary>
    public const double WeightedMedianSlack = 1e-12;

    /// <summary>Combines <paramref name="cells"/> (any order) by <paramref name="method"/>; NaN for no cells.</summary>
    public static double Combine(AggregationMethod method, ReadOnlySpan<ColumnCell> cells, double trimAlpha) => method switch
    {
        AggregationMethod.Mean => WeightedMean(cells),
        AggregationMethod.TrimmedMean => TrimmedMean(cells, trimAlpha),
        AggregationMethod.Median => Median(cells),
        AggregationMethod.WeightedMedian => WeightedMedian(cells),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown aggregation method"),
    };

    /// <summary>The per-column weights q: p renormalised over the cells given.</summary>
    public static double[] Normalised(ReadOnlySpan<ColumnCell> cells)
    {
        var total = 0.0;
        foreach (var c in cells) total += c.Weight;
        var q = new double[cells.Length];
        for (var i = 0; i < cells.Length; i++) q[i] = cells[i].Weight / total;
        return q;
    }

    /// <summary>sum q x / sum q.</summary>
    public static double WeightedMean(ReadOnlySpan<ColumnCell> cells)
    {
        if (cells.IsEmpty) return double.NaN;
        var q = Normalised(cells);
        double num = 0.0, den = 0.0;
        for (var i = 0; i < cells.Length; i++)
        {
            num += q[i] * cells[i].Value;
            den += q[i];
        }
        return num / den;
    }

    /// <summary>How many cells a trimmed mean drops from each end: floor(alpha * n) in float64.</summary>
    public static int TrimCount(double trimAlpha, int n) => (int)Math.Floor(trimAlpha * n);

    /// <summary>
    /// Sorts by (value, row), drops k = floor(alpha * n) from each end and takes sum q x / sum q over the rest,
    /// with q renormalised over all n present cells (so the kept weights are not renormalised a second time
    /// before the ratio, which is the same thing). k = 0 or n = 1: the weighted mean.
    /// </summary>
    public static double TrimmedMean(ReadOnlySpan<ColumnCell> cells, double trimAlpha)
    {
        var n = cells.Length;
        if (n == 0) return double.NaN;
        var k = TrimCount(trimAlpha, n);
        if (k == 0 || n == 1) return WeightedMean(cells);

        var q = Normalised(cells);
        var order = SortedOrder(cells);
        double num = 0.0, den = 0.0;
        for (var j = k; j < n - k; j++)
        {
            var i = order[j];
            num += q[i] * cells[i].Value;
            den += q[i];
        }
        return num / den;
    }

    /// <summary>The unweighted median (even count: mean of the two middle values).</summary>
    public static double Median(ReadOnlySpan<ColumnCell> cells)
    {
        var values = new double[cells.Length];
        for (var i = 0; i < cells.Length; i++) values[i] = cells[i].Value;
        return RobustStatistics.MedianInPlace(values);
    }

    /// <summary>
    /// Sort by (value, row); S = sum q, c_j the running sum, eps = 1e-12 S; the first j with c_j &gt;= S/2 - eps.
    /// When |c_j - S/2| &lt;= eps and a next value exists, the mean of v_j and v_j+1; else v_j.
    /// </summary>
    public static double WeightedMedian(ReadOnlySpan<ColumnCell> cells)
    {
        var n = cells.Length;
        if (n == 0) return double.NaN;
        var q = Normalised(cells);
        var order = SortedOrder(cells);
        var total = 0.0;
        foreach (var i in order) total += q[i];
        var half = total / 2.0;
        var eps = WeightedMedianSlack * total;

        var running = 0.0;
        for (var j = 0; j < n; j++)
        {
            running += q[order[j]];
            if (running >= half - eps)
            {
                var v = cells[order[j]].Value;
                if (Math.Abs(running - half) <= eps && j + 1 < n)
                    return (v + cells[order[j + 1]].Value) / 2.0;
                return v;
            }
        }
        // Only reachable through rounding in the running sum; the heaviest end is the answer then.
        return cells[order[n - 1]].Value;
    }

    /// <summary>Indices into <paramref name="cells"/> sorted by (value, row).</summary>
    public static int[] SortedOrder(ReadOnlySpan<ColumnCell> cells)
    {
        var order = new int[cells.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var copy = cells.ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byValue = copy[a].Value.CompareTo(copy[b].Value);
            return byValue != 0 ? byValue : copy[a].Row.CompareTo(copy[b].Row);
        });
        return order;
    }
}
