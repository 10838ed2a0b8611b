using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The trimmed mean over unmasked rows by selection, eight columns per Vector256 (a row-major batch puts one row
/// of eight consecutive columns in one register, so no shuffles are needed).
/// </summary>
/// <remarks>
/// Pass 1 keeps, per column, the k+1 smallest and the k+1 largest values seen (insertion through a min/max
/// chain), which gives the thresholds lo (the (k+1)-th smallest) and hi (the (k+1)-th largest). Pass 2, over the
/// same cells still in L1, sums p*x and p over lo &lt;= x &lt;= hi in float64 and counts the cells equal to each
/// threshold. When each threshold occurs once, the kept set is exactly sorted positions k..n-k-1 whatever the row
/// order, so the result equals the reference's; otherwise (a tie at a threshold, rare with real data) the column
/// is redone on the exact (value, row) path.
/// </remarks>
internal static class TrimmedMeanKernel
{
    [SkipLocalsInit]
    public static void Run(DomainBatch batch, int[] rows, double[] weights, int k, int c0, int c1, ColumnTarget target, CombineJob exact)
    {
        var n = rows.Length;
        var width = Vector256<float>.Count;
        var end = c0 + (c1 - c0) / width * width;
        if (!Vector256.IsHardwareAccelerated) end = c0;
        Span<Vector256<float>> small = stackalloc Vector256<float>[k + 1];
        Span<Vector256<float>> large = stackalloc Vector256<float>[k + 1];
        Span<double> sums = stackalloc double[width];
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = (nint)batch.Stride;

        for (var c = c0; c < end; c += width)
        {
            small.Fill(Vector256.Create(float.PositiveInfinity));
            large.Fill(Vector256.Create(float.NegativeInfinity));
            for (var r = 0; r < n; r++)
            {
                var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
                var up = x;
                var down = x;
                for (var j = 0; j <= k; j++)
                {
                    var s = small[j];
                    small[j] = Vector256.MinNative(s, up);
                    up = Vector256.MaxNative(s, up);
                    var l = large[j];
                    large[j] = Vector256.MaxNative(l, down);
                    down = Vector256.MinNative(l, down);
                }
            }

            var lo = small[k];
            var hi = large[k];
            var sumLo = Vector256<double>.Zero;
            var sumHi = Vector256<double>.Zero;
            var massLo = Vector256<double>.Zero;
            var massHi = Vector256<double>.Zero;
            var atLo = Vector256<int>.Zero;
            var atHi = Vector256<int>.Zero;
            var one = Vector256.Create(1.0f);
            for (var r = 0; r < n; r++)
            {
                var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
                var w = Vector256.Create(weights[r]);
                var kept = Vector256.GreaterThanOrEqual(x, lo) & Vector256.LessThanOrEqual(x, hi);
                var (xl, xh) = Vector256.Widen(x & kept);
                var (ml, mh) = Vector256.Widen(one & kept);
                sumLo = Vector256.FusedMultiplyAdd(xl, w, sumLo);
                sumHi = Vector256.FusedMultiplyAdd(xh, w, sumHi);
                massLo = Vector256.FusedMultiplyAdd(ml, w, massLo);
                massHi = Vector256.FusedMultiplyAdd(mh, w, massHi);
                atLo += Vector256.Equals(x, lo).AsInt32();
                atHi += Vector256.Equals(x, hi).AsInt32();
            }
            // Each threshold seen exactly once: the counts are -1 (a true compare is all ones).
            var decided = (Vector256.Equals(atLo, Vector256.Create(-1)) & Vector256.Equals(atHi, Vector256.Create(-1))).ExtractMostSignificantBits();
            (sumLo / massLo).CopyTo(sums);
            (sumHi / massHi).CopyTo(sums[4..]);
            for (var lane = 0; lane < width; lane++)
            {
                if ((decided & (1u << lane)) != 0) target.Write(c + lane, sums[lane]);
                else exact.RunExact(c + lane, c + lane + 1, target);
            }
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }
}
