using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The plain float64 per-column reference the kernels are checked against, written straight from DESIGN §4:
/// each column's taking-part cells as (value, row) pairs sorted with ties to the lower row, then the rule.
/// </summary>
internal static class ColumnReference
{
    public static RowScan[] Scan(DomainBatch batch)
    {
        var result = new RowScan[batch.Rows];
        for (var i = 0; i < batch.Rows; i++)
        {
            var count = 0;
            var nonFinite = false;
            for (var d = 0; d < batch.Columns; d++)
            {
                if (!batch.IsPresent(i, d)) continue;
                count++;
                if (!float.IsFinite(batch.Row(i)[d])) nonFinite = true;
            }
            result[i] = new RowScan(count, nonFinite);
        }
        return result;
    }

    /// <summary>The column's taking-part cells: (value, position in rows, weight), sorted by (value, row).</summary>
    public static List<(double Value, int K, double Weight)> SortedCells(
        DomainBatch batch, int[] rows, double[]? weights, bool missingAsZero, int column)
    {
        var cells = new List<(double Value, int K, double Weight)>();
        // Missing as zero applies only in a column some listed row sent (the key union).
        missingAsZero &= Sent(batch, rows, column);
        for (var k = 0; k < rows.Length; k++)
        {
            var w = weights?[k] ?? 1.0;
            if (batch.IsPresent(rows[k], column)) cells.Add((batch.Row(rows[k])[column], k, w));
            else if (missingAsZero) cells.Add((0.0, k, w));
        }
        cells.Sort((a, b) => a.Value != b.Value ? a.Value.CompareTo(b.Value) : a.K.CompareTo(b.K));
        return cells;
    }

    public static bool Sent(DomainBatch batch, int[] rows, int column) => rows.Any(r => batch.IsPresent(r, column));

    public static double Median(List<(double Value, int K, double Weight)> sorted)
    {
        var n = sorted.Count;
        if (n == 0) return double.NaN;
        return n % 2 == 1 ? sorted[n / 2].Value : (sorted[n / 2 - 1].Value + sorted[n / 2].Value) / 2.0;
    }

    public static double[] Medians(DomainBatch batch, int[] rows, bool missingAsZero)
    {
        var result = new double[batch.Columns];
        for (var d = 0; d < batch.Columns; d++) result[d] = Median(SortedCells(batch, rows, null, missingAsZero, d));
        return result;
    }

    public static double[] Distances(DomainBatch batch, int[] rows, bool missingAsZero, double[] medians)
    {
        var result = new double[rows.Length];
        for (var k = 0; k < rows.Length; k++)
        {
            double sum = 0;
            var count = 0;
            for (var d = 0; d < batch.Columns; d++)
            {
                double x;
                if (batch.IsPresent(rows[k], d)) x = batch.Row(rows[k])[d];
                else if (missingAsZero && Sent(batch, rows, d)) x = 0;
                else continue;
                sum += (x - medians[d]) * (x - medians[d]);
                count++;
            }
            result[k] = count == 0 ? double.NaN : Math.Sqrt(sum / count);
        }
        return result;
    }

    /// <summary>Step 6 for one column; NaN when it has no taking-part cell.</summary>
    public static double Combine(
        DomainBatch batch, int[] rows, double[] weights, AggregationMethod method, double trimAlpha, bool missingAsZero, int column)
    {
        var sorted = SortedCells(batch, rows, weights, missingAsZero, column);
        var n = sorted.Count;
        if (n == 0) return double.NaN;
        // Renormalise over the column's cells summed in row order, then S in sorted order (DESIGN §4 step 6).
        var weightSum = 0.0;
        foreach (var c in sorted.OrderBy(c => c.K)) weightSum += c.Weight;
        var q = sorted.Select(c => (c.Value, Q: c.Weight / weightSum)).ToList();
        switch (method)
        {
            case AggregationMethod.Median:
                return Median(sorted);
            case AggregationMethod.WeightedMedian:
            {
                var s = q.Sum(c => c.Q);
                var eps = 1e-12 * s;
                var running = 0.0;
                for (var j = 0; j < n; j++)
                {
                    running += q[j].Q;
                    if (running < s / 2 - eps) continue;
                    if (Math.Abs(running - s / 2) <= eps && j + 1 < n) return (q[j].Value + q[j + 1].Value) / 2.0;
                    return q[j].Value;
                }
                return q[n - 1].Value;
            }
            case AggregationMethod.TrimmedMean:
            {
                var k = (int)Math.Floor(trimAlpha * n);
                var kept = q.Skip(k).Take(n - 2 * k).ToList();
                return kept.Sum(c => c.Q * c.Value) / kept.Sum(c => c.Q);
            }
            default:
                return q.Sum(c => c.Q * c.Value) / q.Sum(c => c.Q);
        }
    }

    /// <summary>The aggregate (float32), the stepped prior, and the number of empty columns.</summary>
    public static (float[] Aggregate, float[] Prior, int Empty) CombineAndStep(
        DomainBatch batch, int[] rows, double[] weights, AggregationMethod method, double trimAlpha, bool missingAsZero,
        float[] prior, ReptileStep? step)
    {
        var aggregate = new float[batch.Columns];
        var stepped = (float[])prior.Clone();
        var empty = 0;
        for (var d = 0; d < batch.Columns; d++)
        {
            var value = Combine(batch, rows, weights, method, trimAlpha, missingAsZero, d);
            aggregate[d] = (float)value;
            if (double.IsNaN(value))
            {
                empty++;
                continue;
            }
            if (step is not { } s) continue;
            double v = aggregate[d], p = prior[d];
            if (double.IsNaN(p)) stepped[d] = s.Rule == ReptileRule.Delta ? (float)(s.Beta * v) : aggregate[d];
            else stepped[d] = (float)(s.Rule == ReptileRule.Delta ? p + s.Beta * v : p + s.Beta * (v - p));
        }
        return (aggregate, stepped, empty);
    }
}
