using ILGPU;
using ILGPU.Algorithms;

namespace Meta.Gpu.Kernels;

/// <summary>
/// DESIGN §4 step 6 and the Reptile step (§8 (d)) in one pass, one thread per column.
/// </summary>
/// <remarks>
/// <para>Weights: q_k = p_k / (sum of p over the column's taking-part cells, row order), all float64, as
/// <c>ColumnRules</c> (the float64 reference) renormalises them.</para>
/// <para><c>mean</c> = sum q x / sum q. <c>trimmed_mean</c>: k = floor(alpha * n_d) dropped from each end of the
/// (value, row) order, sum q x / sum q over the rest (k = 0: the weighted mean). <c>median</c>: the unweighted
/// median. <c>weighted_median</c>: S = sum q (summed in (value, row) order, as the reference), c the running
/// sum of q in (value, row) order, eps = 1e-12 S; the first cell with c &gt;= S/2 - eps; when |c - S/2| &lt;= eps and a next cell exists, the mean
/// of the two, else the cell's value. Every decision (k, the ranks, the pick) is made in float64 / integers
/// exactly as the float64 reference makes it.</para>
/// <para>The column's value is rounded to float32 (the aggregate's type) and that float32 value v steps the
/// prior in float64: interpolate p += beta (v - p), delta p += beta v, rounded back to float32. A column with
/// no taking-part cell is NaN in the aggregate, counted in <c>emptyColumns</c>, and leaves the prior as it is.
/// A NaN prior cell is a key the prior lacks (§8 (b), (d)): interpolate adopts v, delta sets beta v.</para>
/// <para>With missing keys as zero, absent cells are present zeros only in a column some participating row
/// sent (the key union of §4 step 2); a column no participating row sent is empty.</para>
/// <para>A column with a non-finite taking-part cell is counted in <c>counts[1]</c>: a round whose rows were not
/// scanned for such cells (the engine's read-once round) is redone from the scan when the count is not 0.</para>
/// </remarks>
public static class CombineKernel
{
    /// <summary>Index = column. <paramref name="counts"/>[0] is incremented once per empty column,
    /// <paramref name="counts"/>[1] once per column with a non-finite taking-part cell (the dense kernels also count
    /// in [2] the columns they hand to the walks: <see cref="HandOver"/>).</summary>
    public static void Run(
        Index1D column, DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, CombineSettings settings,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var value = Combine(matrix, rows, weights, settings, column, out var nonFinite);
        Finish(column, value, nonFinite, settings, aggregate, prior, counts);
    }

    /// <summary>A column a dense kernel cannot settle itself (a tie its order cannot decide, a non-finite cell, kept terms
    /// that cancel so far that the reference's order of summation matters), combined
    /// by the walks as <see cref="Run"/> combines it, and counted in <paramref name="counts"/>[2]: a dense kernel that
    /// handed over plain columns would stay right and only get slow, and the tests watch that count
    /// (<c>IlgpuBackend.HandedOverColumns</c>).</summary>
    internal static void HandOver(
        int column, DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, CombineSettings settings,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        Atomic.Add(ref counts[2], 1);
        var value = Combine(matrix, rows, weights, settings, column, out var nonFinite);
        Finish(column, value, nonFinite, settings, aggregate, prior, counts);
    }

    /// <summary>What every combine kernel does with a column's float64 value: counts it (non-finite cell, empty
    /// column), writes the aggregate when asked, and steps the prior.</summary>
    internal static void Finish(
        int column, double value, bool nonFinite, CombineSettings settings, ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        if (nonFinite) Atomic.Add(ref counts[1], 1);
        var v = (float)value;
        if (settings.WriteAggregate != 0) aggregate[column] = v;
        if (double.IsNaN(value))
        {
            Atomic.Add(ref counts[0], 1);
            return;
        }
        if (settings.Step == 0) return;
        var before = prior[column];
        if (float.IsNaN(before))
        {
            // A NaN prior cell is a key the prior lacks: interpolate adopts v; delta starts it at 0 (§8 (b), (d)).
            prior[column] = settings.Rule == CombineSettings.Delta ? (float)(settings.Beta * v) : v;
            return;
        }
        var p = (double)before;
        prior[column] = settings.Rule == CombineSettings.Delta
            ? (float)(p + settings.Beta * v)
            : (float)(p + settings.Beta * (v - p));
    }

    /// <summary>The column's value by the exact (value, row) walks; <paramref name="nonFinite"/>: a taking-part cell is not finite.</summary>
    internal static double Combine(DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, CombineSettings settings, int column, out bool nonFinite)
    {
        var n = settings.RowCount;
        var zero = settings.MissingAsZero != 0 && matrix.AnySent(rows, n, column) ? 1 : 0;
        var present = 0;
        var weightSum = 0.0;
        nonFinite = false;
        var hasNaN = false;
        for (var k = 0; k < n; k++)
        {
            if (!matrix.TryCell(rows[k], column, zero, out var x)) continue;
            present++;
            weightSum += weights[k];
            // x - x is NaN for NaN and the infinities, 0 for every finite x.
            if (float.IsNaN(x - x)) nonFinite = true;
            if (float.IsNaN(x)) hasNaN = true;
        }
        // A NaN cell has no place in the (value, row) order, whose walks would then find no next cell: such a
        // column is NaN. The engine never passes one on: step 1 rejects its row, and a read-once round that meets
        // it is redone from that scan.
        if (present == 0 || hasNaN) return double.NaN;

        switch (settings.Method)
        {
            case CombineSettings.Median:
                return ColumnOrder.Median(matrix, rows, n, column, zero, present);
            case CombineSettings.WeightedMedian:
                return WeightedMedian(matrix, rows, weights, n, column, zero, weightSum, present);
            case CombineSettings.TrimmedMean:
                var trim = (int)XMath.Floor(settings.TrimAlpha * present);
                if (trim > 0 && present > 1) return TrimmedMean(matrix, rows, weights, n, column, zero, weightSum, trim, present);
                return WeightedMean(matrix, rows, weights, n, column, zero, weightSum);
            default:
                return WeightedMean(matrix, rows, weights, n, column, zero, weightSum);
        }
    }

    private static double WeightedMean(DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, int n, int column, int zero, double weightSum)
    {
        var sum = 0.0;
        var qSum = 0.0;
        for (var k = 0; k < n; k++)
        {
            if (!matrix.TryCell(rows[k], column, zero, out var x)) continue;
            var q = weights[k] / weightSum;
            sum += q * x;
            qSum += q;
        }
        return sum / qSum;
    }

    /// <summary>
    /// Finds the k-th cell from the bottom and the k-th from the top of the (value, row) order (2k steps of
    /// O(n) instead of a full O(n^2) walk), then sums q x over the cells strictly between them in row order.
    /// Which cells are kept is decided exactly as in the sorted reference; only the summation order differs, which
    /// moves the sum by less than a rounding error of the terms' magnitudes. Where the kept terms cancel so far
    /// that this could pass a small part of §13's tolerance (<see cref="OrderMayMatter"/>: kept cells of 1e20 and
    /// -1e20 beside values near 1, whose sum the reference's order loses and row order keeps), the kept cells are
    /// summed again in (value, row) order, as the reference sums them.
    /// </summary>
    private static double TrimmedMean(
        DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, int n, int column, int zero, double weightSum, int trim, int present)
    {
        var low = -1;
        var lowValue = 0f;
        for (var r = 0; r < trim; r++) low = ColumnOrder.Next(matrix, rows, n, column, zero, lowValue, low, out lowValue);
        var high = -1;
        var highValue = 0f;
        for (var r = 0; r < trim; r++) high = ColumnOrder.Previous(matrix, rows, n, column, zero, highValue, high, out highValue);

        var sum = 0.0;
        var qSum = 0.0;
        var absSum = 0.0;
        for (var k = 0; k < n; k++)
        {
            if (!matrix.TryCell(rows[k], column, zero, out var x)) continue;
            if (!ColumnOrder.Before(lowValue, low, x, k) || !ColumnOrder.Before(x, k, highValue, high)) continue;
            var q = weights[k] / weightSum;
            var term = q * x;
            sum += term;
            qSum += q;
            absSum += XMath.Abs(term);
        }
        if (!OrderMayMatter(sum, qSum, absSum, n)) return sum / qSum;

        // The reference's order: the kept cells from the first after the last dropped at the bottom, ascending.
        sum = 0.0;
        qSum = 0.0;
        var at = low;
        var value = lowValue;
        for (var r = 0; r < present - 2 * trim; r++)
        {
            at = ColumnOrder.Next(matrix, rows, n, column, zero, value, at, out value);
            var q = weights[at] / weightSum;
            sum += q * value;
            qSum += q;
        }
        return sum / qSum;
    }

    /// <summary>
    /// Whether a kept sum of at most <paramref name="terms"/> products, <paramref name="sum"/> (their magnitudes
    /// summing to at most <paramref name="absSum"/>) over <paramref name="shareSum"/>, taken in row order, may lie
    /// farther from the same sum in the reference's (value, row) order than a hundredth of §13's tolerance: each
    /// order's sum lies within terms x 2^-53 x absSum of the exact one. Never for terms that do not cancel (absSum
    /// = |sum|) below 10^9 rows, nor for values of magnitude up to about 10^7 at 256 rows; a column of zero shares
    /// (0 / 0) stays as it is.
    /// </summary>
    internal static bool OrderMayMatter(double sum, double shareSum, double absSum, int terms) =>
        2.0 * terms * 1.1102230246251565e-16 * absSum > 1e-6 * (shareSum + XMath.Abs(sum));

    /// <summary><see cref="OrderMayMatter"/> for a dense kernel's kept cells, which all lie between
    /// <paramref name="firstKept"/> and <paramref name="lastKept"/>: their terms' magnitudes sum to at most the larger
    /// magnitude of the two times <paramref name="shareSum"/>.</summary>
    internal static bool KeptOrderMayMatter(float firstKept, float lastKept, double sum, double shareSum, int terms) =>
        OrderMayMatter(sum, shareSum, XMath.Max(XMath.Abs(firstKept), XMath.Abs(lastKept)) * shareSum, terms);

    private static double WeightedMedian(DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> weights, int n, int column, int zero, double weightSum, int present)
    {
        // S in (value, row) order, as the float64 reference sums it: the half-mass test then sees the very same
        // S and running sums, so the pick (and the midpoint decision) is the reference's, bit for bit.
        var total = 0.0;
        var walk = -1;
        var walkValue = 0f;
        for (var r = 0; r < present; r++)
        {
            walk = ColumnOrder.Next(matrix, rows, n, column, zero, walkValue, walk, out walkValue);
            total += weights[walk] / weightSum;
        }
        var half = total / 2.0;
        var eps = 1e-12 * total;

        var at = -1;
        var x = 0f;
        var running = 0.0;
        // Bounded by the cell count: the running sum reaches S/2 - eps at the latest at the last cell.
        for (var r = 0; r < present; r++)
        {
            at = ColumnOrder.Next(matrix, rows, n, column, zero, x, at, out x);
            running += weights[at] / weightSum;
            if (running >= half - eps) break;
        }
        var gap = running - half;
        if (gap < 0) gap = -gap;
        if (gap <= eps)
        {
            var next = ColumnOrder.Next(matrix, rows, n, column, zero, x, at, out var after);
            if (next >= 0) return ((double)x + after) / 2.0;
        }
        return x;
    }
}
