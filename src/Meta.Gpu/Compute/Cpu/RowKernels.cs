using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>Row-wise passes of the cpu backend: the eligibility scan and the outlier distances.</summary>
internal static class RowKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static RowScan Scan(DomainBatch batch, int row)
    {
        var values = batch.Row(row);
        if (batch.Mask is null) return new RowScan(values.Length, !AllFinite(values));
        var present = batch.MaskRow(row);
        var count = 0;
        var nonFinite = false;
        for (var c = 0; c < values.Length; c++)
        {
            if (present[c] == 0) continue;
            count++;
            nonFinite |= !float.IsFinite(values[c]);
        }
        return new RowScan(count, nonFinite);
    }

    /// <summary>True when every value is finite: x - x is 0 for finite x and NaN for NaN and infinities.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            var bad = Vector256<float>.Zero;
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.Create(values.Slice(i, Vector256<float>.Count));
                bad |= ~Vector256.Equals(x - x, Vector256<float>.Zero);
            }
            if (bad != Vector256<float>.Zero) return false;
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return false;
        return true;
    }

    /// <summary>
    /// Adds (x - m_d)^2 over the present cells of columns [c0, c1) per participating row into
    /// <paramref name="sums"/> and counts the cells into <paramref name="counts"/> (float64 throughout).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SquaredDistances(
        DomainBatch batch, int[] rows, bool missingAsZero, ReadOnlySpan<double> medians, int c0, int c1,
        Span<double> sums, Span<long> counts)
    {
        var stride = batch.Stride;
        var mask = batch.Mask;
        var data = batch.Values;
        bool[]? unionArray = null;
        if (mask is not null && missingAsZero)
        {
            // A column counts for every row when some participating row sent it (the key union).
            unionArray = new bool[c1 - c0];
            foreach (var r in rows)
            {
                var present = mask.AsSpan(r * stride + c0, c1 - c0);
                for (var c = 0; c < present.Length; c++) unionArray[c] |= present[c] != 0;
            }
        }

        for (var k = 0; k < rows.Length; k++)
        {
            var offset = rows[k] * stride + c0;
            var row = data.AsSpan(offset, c1 - c0);
            double s = 0;
            long count = 0;
            if (mask is null)
            {
                for (var c = 0; c < row.Length; c++)
                {
                    var d = row[c] - medians[c0 + c];
                    s += d * d;
                }
                count = row.Length;
            }
            else
            {
                var present = mask.AsSpan(offset, c1 - c0);
                for (var c = 0; c < row.Length; c++)
                {
                    double x;
                    if (present[c] != 0) x = row[c];
                    else if (unionArray is not null && unionArray[c]) x = 0.0;
                    else continue;
                    var d = x - medians[c0 + c];
                    s += d * d;
                    count++;
                }
            }
            sums[k] = s;
            counts[k] = count;
        }
    }
}
