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
/// same cells still in L1, sums p*x and p over lo &lt;= x &lt;= hi in float64 and counts the kept cells. When
/// n-2k are kept, no tie straddles a trim boundary and the kept set is exactly sorted positions k..n-k-1 whatever
/// the row order, so the result equals the reference's; otherwise (a tie across a boundary, rare with real data)
/// the column is redone on the exact (value, row) path.
/// </remarks>
internal static class TrimmedMeanKernel
{
    [SkipLocalsInit]
    internal static void Run(DomainBatch batch, int[] rows, double[] weights, int k, int c0, int c1, ColumnTarget target, CombineJob exact)
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
        Span<float> weightsF = stackalloc float[n];
        for (var r = 0; r < n; r++) weightsF[r] = (float)weights[r];

        RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Block));
        for (var c = c0; c < end; c += width)
        {
            if ((c - c0) % RowPrefetch.Block == 0)
                RowPrefetch.Columns(batch.Values, rows, batch.Stride, c + RowPrefetch.Block, Math.Min(end, c + 2 * RowPrefetch.Block));
            Vector256<float> lo, hi;
            switch (k + 1)
            {
                case 1: (lo, hi) = Extremes<Size1>(ref data, rows, stride, c); break;
                case 2: (lo, hi) = Extremes<Size2>(ref data, rows, stride, c); break;
                case 3: (lo, hi) = Extremes<Size3>(ref data, rows, stride, c); break;
                case 4: (lo, hi) = Extremes<Size4>(ref data, rows, stride, c); break;
                case 5: (lo, hi) = Extremes<Size5>(ref data, rows, stride, c); break;
                case 6: (lo, hi) = Extremes<Size6>(ref data, rows, stride, c); break;
                case 7 when n >= 8: (lo, hi) = Extremes7(ref data, rows, stride, c); break;
                case 7: (lo, hi) = Extremes<Size7>(ref data, rows, stride, c); break;
                case 8: (lo, hi) = Extremes<Size8>(ref data, rows, stride, c); break;
                default: (lo, hi) = Extremes(ref data, rows, stride, c, small, large); break;
            }
            var sumLo = Vector256<double>.Zero;
            var sumHi = Vector256<double>.Zero;
            var mass = Vector256<float>.Zero;
            var keptCount = Vector256<float>.Zero;
            var one = Vector256.Create(1.0f);
            for (var r = 0; r < n; r++)
            {
                var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
                var w = Vector256.Create(weights[r]);
                var kept = Vector256.GreaterThanOrEqual(x, lo) & Vector256.LessThanOrEqual(x, hi);
                var (xl, xh) = Vector256.Widen(x & kept);
                sumLo = Vector256.FusedMultiplyAdd(xl, w, sumLo);
                sumHi = Vector256.FusedMultiplyAdd(xh, w, sumHi);
                // The kept weight is a sum of positive terms: float32 keeps it well inside the tolerance.
                mass += Vector256.Create(weightsF[r]) & kept;
                keptCount += one & kept;
            }
            // At most k cells lie below lo and at most k above hi, so n-2k kept cells means exactly k on each side:
            // the kept rows are sorted positions k..n-k-1 whatever order ties take.
            var decided = Vector256.Equals(keptCount, Vector256.Create((float)(n - 2 * k))).ExtractMostSignificantBits();
            var (ml, mh) = Vector256.Widen(mass);
            (sumLo / ml).CopyTo(sums);
            (sumHi / mh).CopyTo(sums[4..]);
            for (var lane = 0; lane < width; lane++)
            {
                if ((decided & (1u << lane)) != 0) target.Write(c + lane, sums[lane]);
                else exact.RunExact(c + lane, c + lane + 1, target);
            }
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    /// <summary>The (k+1)-th smallest and largest value per lane, k+1 = <see cref="ISelectionSize.Size"/>, with
    /// the two lists in registers (the JIT drops the unused levels per instantiation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector256<float> Low, Vector256<float> High) Extremes<TSize>(ref float data, int[] rows, nint stride, int column)
        where TSize : struct, ISelectionSize
    {
        var size = TSize.Size;
        var inf = Vector256.Create(float.PositiveInfinity);
        var ninf = Vector256.Create(float.NegativeInfinity);
        Vector256<float> s0 = inf, s1 = inf, s2 = inf, s3 = inf, s4 = inf, s5 = inf, s6 = inf, s7 = inf;
        Vector256<float> l0 = ninf, l1 = ninf, l2 = ninf, l3 = ninf, l4 = ninf, l5 = ninf, l6 = ninf, l7 = ninf;
        foreach (var row in rows)
        {
            var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, row * stride + column));
            Vector256<float> t;
            var up = x;
            var down = x;
            t = Vector256.MinNative(s0, up); up = Vector256.MaxNative(s0, up); s0 = t;
            t = Vector256.MaxNative(l0, down); down = Vector256.MinNative(l0, down); l0 = t;
            if (size > 1)
            {
                t = Vector256.MinNative(s1, up); up = Vector256.MaxNative(s1, up); s1 = t;
                t = Vector256.MaxNative(l1, down); down = Vector256.MinNative(l1, down); l1 = t;
            }
            if (size > 2)
            {
                t = Vector256.MinNative(s2, up); up = Vector256.MaxNative(s2, up); s2 = t;
                t = Vector256.MaxNative(l2, down); down = Vector256.MinNative(l2, down); l2 = t;
            }
            if (size > 3)
            {
                t = Vector256.MinNative(s3, up); up = Vector256.MaxNative(s3, up); s3 = t;
                t = Vector256.MaxNative(l3, down); down = Vector256.MinNative(l3, down); l3 = t;
            }
            if (size > 4)
            {
                t = Vector256.MinNative(s4, up); up = Vector256.MaxNative(s4, up); s4 = t;
                t = Vector256.MaxNative(l4, down); down = Vector256.MinNative(l4, down); l4 = t;
            }
            if (size > 5)
            {
                t = Vector256.MinNative(s5, up); up = Vector256.MaxNative(s5, up); s5 = t;
                t = Vector256.MaxNative(l5, down); down = Vector256.MinNative(l5, down); l5 = t;
            }
            if (size > 6)
            {
                t = Vector256.MinNative(s6, up); up = Vector256.MaxNative(s6, up); s6 = t;
                t = Vector256.MaxNative(l6, down); down = Vector256.MinNative(l6, down); l6 = t;
            }
            if (size > 7)
            {
                s7 = Vector256.MinNative(s7, up);
                l7 = Vector256.MaxNative(l7, down);
            }
        }
        return size switch
        {
            1 => (s0, l0),
            2 => (s1, l1),
            3 => (s2, l2),
            4 => (s3, l3),
            5 => (s4, l4),
            6 => (s5, l5),
            7 => (s6, l6),
            _ => (s7, l7),
        };
    }

    /// <summary>k + 1 = 7 (k = 6: trim_alpha 0.1 at 64 rows), eight rows at a time: each group is sorted by a
    /// 19-comparator network, then merged into both lists (the seven smallest of the list and the group are
    /// min(s[i], g[6-i]), a bitonic sequence that a pruned bitonic merger sorts in 9 comparators; the largest
    /// likewise). About 88 min/max per 8 rows against 224 for insertion; leftover rows are inserted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector256<float> Low, Vector256<float> High) Extremes7(ref float data, int[] rows, nint stride, int column)
    {
        var inf = Vector256.Create(float.PositiveInfinity);
        var ninf = Vector256.Create(float.NegativeInfinity);
        Vector256<float> s0 = inf, s1 = inf, s2 = inf, s3 = inf, s4 = inf, s5 = inf, s6 = inf;
        Vector256<float> l0 = ninf, l1 = ninf, l2 = ninf, l3 = ninf, l4 = ninf, l5 = ninf, l6 = ninf;
        Vector256<float> t, a0, a1, a2, a3, a4, a5, a6;
        var r = 0;
        for (; r + 8 <= rows.Length; r += 8)
        {
            var g0 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r + 0] * stride + column));
            var g1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r + 1] * stride + column));
            var g2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r + 2] * stride + column));
            var g3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r + 3] * stride + column));
            var g4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r + 4] * stride + column));
            var g5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r + 5] * stride + column));
            var g6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r + 6] * stride + column));
            var g7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r + 7] * stride + column));
            t = Vector256.MinNative(g0, g2); g2 = Vector256.MaxNative(g0, g2); g0 = t;
            t = Vector256.MinNative(g1, g3); g3 = Vector256.MaxNative(g1, g3); g1 = t;
            t = Vector256.MinNative(g4, g6); g6 = Vector256.MaxNative(g4, g6); g4 = t;
            t = Vector256.MinNative(g5, g7); g7 = Vector256.MaxNative(g5, g7); g5 = t;
            t = Vector256.MinNative(g0, g4); g4 = Vector256.MaxNative(g0, g4); g0 = t;
            t = Vector256.MinNative(g1, g5); g5 = Vector256.MaxNative(g1, g5); g1 = t;
            t = Vector256.MinNative(g2, g6); g6 = Vector256.MaxNative(g2, g6); g2 = t;
            t = Vector256.MinNative(g3, g7); g7 = Vector256.MaxNative(g3, g7); g3 = t;
            t = Vector256.MinNative(g0, g1); g1 = Vector256.MaxNative(g0, g1); g0 = t;
            t = Vector256.MinNative(g2, g3); g3 = Vector256.MaxNative(g2, g3); g2 = t;
            t = Vector256.MinNative(g4, g5); g5 = Vector256.MaxNative(g4, g5); g4 = t;
            t = Vector256.MinNative(g6, g7); g7 = Vector256.MaxNative(g6, g7); g6 = t;
            t = Vector256.MinNative(g2, g4); g4 = Vector256.MaxNative(g2, g4); g2 = t;
            t = Vector256.MinNative(g3, g5); g5 = Vector256.MaxNative(g3, g5); g3 = t;
            t = Vector256.MinNative(g1, g4); g4 = Vector256.MaxNative(g1, g4); g1 = t;
            t = Vector256.MinNative(g3, g6); g6 = Vector256.MaxNative(g3, g6); g3 = t;
            t = Vector256.MinNative(g1, g2); g2 = Vector256.MaxNative(g1, g2); g1 = t;
            t = Vector256.MinNative(g3, g4); g4 = Vector256.MaxNative(g3, g4); g3 = t;
            t = Vector256.MinNative(g5, g6); g6 = Vector256.MaxNative(g5, g6); g5 = t;
            a0 = Vector256.MinNative(s0, g6); a1 = Vector256.MinNative(s1, g5); a2 = Vector256.MinNative(s2, g4); a3 = Vector256.MinNative(s3, g3);
            a4 = Vector256.MinNative(s4, g2); a5 = Vector256.MinNative(s5, g1); a6 = Vector256.MinNative(s6, g0);
            t = Vector256.MinNative(a0, a4); a4 = Vector256.MaxNative(a0, a4); a0 = t;
            t = Vector256.MinNative(a1, a5); a5 = Vector256.MaxNative(a1, a5); a1 = t;
            t = Vector256.MinNative(a2, a6); a6 = Vector256.MaxNative(a2, a6); a2 = t;
            t = Vector256.MinNative(a0, a2); a2 = Vector256.MaxNative(a0, a2); a0 = t;
            t = Vector256.MinNative(a4, a6); a6 = Vector256.MaxNative(a4, a6); a4 = t;
            t = Vector256.MinNative(a5, a3); a3 = Vector256.MaxNative(a5, a3); a5 = t;
            t = Vector256.MinNative(a2, a1); a1 = Vector256.MaxNative(a2, a1); a2 = t;
            t = Vector256.MinNative(a4, a5); a5 = Vector256.MaxNative(a4, a5); a4 = t;
            t = Vector256.MinNative(a6, a3); a3 = Vector256.MaxNative(a6, a3); a6 = t;
            s0 = a0; s1 = a2; s2 = a1; s3 = a4; s4 = a5; s5 = a6; s6 = a3;
            a0 = Vector256.MaxNative(l0, g1); a1 = Vector256.MaxNative(l1, g2); a2 = Vector256.MaxNative(l2, g3); a3 = Vector256.MaxNative(l3, g4);
            a4 = Vector256.MaxNative(l4, g5); a5 = Vector256.MaxNative(l5, g6); a6 = Vector256.MaxNative(l6, g7);
            t = Vector256.MaxNative(a0, a4); a4 = Vector256.MinNative(a0, a4); a0 = t;
            t = Vector256.MaxNative(a1, a5); a5 = Vector256.MinNative(a1, a5); a1 = t;
            t = Vector256.MaxNative(a2, a6); a6 = Vector256.MinNative(a2, a6); a2 = t;
            t = Vector256.MaxNative(a0, a2); a2 = Vector256.MinNative(a0, a2); a0 = t;
            t = Vector256.MaxNative(a4, a6); a6 = Vector256.MinNative(a4, a6); a4 = t;
            t = Vector256.MaxNative(a5, a3); a3 = Vector256.MinNative(a5, a3); a5 = t;
            t = Vector256.MaxNative(a2, a1); a1 = Vector256.MinNative(a2, a1); a2 = t;
            t = Vector256.MaxNative(a4, a5); a5 = Vector256.MinNative(a4, a5); a4 = t;
            t = Vector256.MaxNative(a6, a3); a3 = Vector256.MinNative(a6, a3); a6 = t;
            l0 = a0; l1 = a2; l2 = a1; l3 = a4; l4 = a5; l5 = a6; l6 = a3;
        }
        for (; r < rows.Length; r++)
        {
            var up = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + column));
            var down = up;
            t = Vector256.MinNative(s0, up); up = Vector256.MaxNative(s0, up); s0 = t;
            t = Vector256.MinNative(s1, up); up = Vector256.MaxNative(s1, up); s1 = t;
            t = Vector256.MinNative(s2, up); up = Vector256.MaxNative(s2, up); s2 = t;
            t = Vector256.MinNative(s3, up); up = Vector256.MaxNative(s3, up); s3 = t;
            t = Vector256.MinNative(s4, up); up = Vector256.MaxNative(s4, up); s4 = t;
            t = Vector256.MinNative(s5, up); up = Vector256.MaxNative(s5, up); s5 = t;
            s6 = Vector256.MinNative(s6, up);
            t = Vector256.MaxNative(l0, down); down = Vector256.MinNative(l0, down); l0 = t;
            t = Vector256.MaxNative(l1, down); down = Vector256.MinNative(l1, down); l1 = t;
            t = Vector256.MaxNative(l2, down); down = Vector256.MinNative(l2, down); l2 = t;
            t = Vector256.MaxNative(l3, down); down = Vector256.MinNative(l3, down); l3 = t;
            t = Vector256.MaxNative(l4, down); down = Vector256.MinNative(l4, down); l4 = t;
            t = Vector256.MaxNative(l5, down); down = Vector256.MinNative(l5, down); l5 = t;
            l6 = Vector256.MaxNative(l6, down);
        }
        return (s6, l6);
    }

    /// <summary>The general case: the lists live in <paramref name="small"/> and <paramref name="large"/>.</summary>
    private static (Vector256<float> Low, Vector256<float> High) Extremes(
        ref float data, int[] rows, nint stride, int column, Span<Vector256<float>> small, Span<Vector256<float>> large)
    {
        small.Fill(Vector256.Create(float.PositiveInfinity));
        large.Fill(Vector256.Create(float.NegativeInfinity));
        foreach (var row in rows)
        {
            var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, row * stride + column));
            var up = x;
            var down = x;
            for (var j = 0; j < small.Length; j++)
            {
                var s = small[j];
                small[j] = Vector256.MinNative(s, up);
                up = Vector256.MaxNative(s, up);
                var l = large[j];
                large[j] = Vector256.MaxNative(l, down);
                down = Vector256.MinNative(l, down);
            }
        }
        return (small[^1], large[^1]);
    }

    internal interface ISelectionSize
    {
        static abstract int Size { get; }
    }

    private struct Size1 : ISelectionSize { public static int Size => 1; }
    private struct Size2 : ISelectionSize { public static int Size => 2; }
    private struct Size3 : ISelectionSize { public static int Size => 3; }
    private struct Size4 : ISelectionSize { public static int Size => 4; }
    private struct Size5 : ISelectionSize { public static int Size => 5; }
    private struct Size6 : ISelectionSize { public static int Size => 6; }
    private struct Size7 : ISelectionSize { public static int Size => 7; }
    private struct Size8 : ISelectionSize { public static int Size => 8; }
}
