using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The weighted mean over unmasked rows (and the fused Reptile step): one streaming pass, eight rows at a time on
/// vectors with a fused multiply-add (<see cref="PortableVector256.IsFastWithFusedMultiplyAdd"/>; four otherwise), float64 accumulators for a block of columns that stays in L2. Every column has all n cells present here, so
/// the per-column renormalisation divides by one sum of weights.
/// </summary>
internal static unsafe class WeightedSumKernel
{
    /// <summary>
    /// Columns per block: each row is read in runs of this many columns (128 KiB), long enough for the hardware
    /// prefetchers to run ahead on each of a sweep's eight rows, while the block's float64 accumulators (256 KiB) and
    /// largest raw bits (128 KiB) stay in L2 (512 KiB on the smallest L2 of the x86 cores in use). Until the
    /// thirty-seventh session the block was 1024 columns, whose accumulators stayed in L1 but whose 4 KiB runs were too
    /// short for those prefetchers, so each sweep prefetched the next one's rows in software: on the 2-core AMD EPYC
    /// with AVX-512 (Zen 4) that streamed 64 x 1M at 65 % of a 50 GB/s read stream against 82-85 % with these
    /// blocks and no software prefetch, and on one core at 59-63 % of its read stream against 73-78 % (probes,
    /// alternated in one process: benchmarks/HISTORY.md).
    /// </summary>
    internal const int Block = 32768;

    /// <summary>Combines columns [c0, c1); returns how many came out empty (NaN).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Run(DomainBatch batch, int[] rows, double[] weights, int c0, int c1, ColumnTarget target)
    {
        var empty = 0;
        var n = rows.Length;
        var total = 0.0;
        // The float32 partials' error bound (Float32Bounds) assumes weights of one sign.
        var nonNegative = true;
        foreach (var w in weights)
        {
            total += w;
            nonNegative &= w >= 0;
        }
        if (n == 1 && total > 0 && double.IsFinite(total)) return LoneRow(batch, rows[0], c0, c1, target);
        var scratch = ColumnScratch.ForWeightedSum(Math.Min(Block, c1 - c0));
        Span<double> acc = scratch.Sums;
        Span<uint> magnitude = scratch.Magnitudes;
        Span<double> bound = scratch.Bounds;
        Span<float> weightsF = n <= 1024 ? stackalloc float[n] : new float[n];
        // Normalised, so a float32 partial of eight terms stays within the largest |x| (no overflow that the
        // float64 path would not have); Accumulate8 scales it back by the total. The float32 bound counts one
        // rounding per share, which holds only for shares in float32's normal range: below it (a domain 1e45 times
        // heavier than the rest) a share keeps a few bits or none, and 2047 shares of 5e-46 on cells near
        // float.MaxValue, 3.5e-4 of the mean, came out 0. Such calls sum in float64.
        var normalShares = true;
        for (var r = 0; r < n; r++)
        {
            weightsF[r] = (float)(weights[r] / total);
            normalShares &= weights[r] == 0 || float.IsNormal(weightsF[r]);
        }
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = batch.Stride;

        for (var b = c0; b < c1; b += Block)
        {
            var width = Math.Min(Block, c1 - b);
            var accs = acc[..width];
            accs.Clear();
            var k = 0;
            var magnitudes = magnitude[..width];
            // On AVX-512 machines too, from two sweeps on: there the float64 path alone (Vector512, four rows a
            // sweep, no prefetch) streamed 64 x 1M at 58-72 % of the read stream against 71-80 % with these sweeps
            // (a 2-core Xeon, alternating BenchmarkDotNet runs), while at 13 rows, in cache, it was the faster.
            if (PortableVector256.IsFastWithFusedMultiplyAdd && n >= (Vector512.IsHardwareAccelerated ? 16 : 8) && nonNegative && normalShares)
            {
                magnitudes.Clear();
                // Eight rows per sweep: half the accumulator traffic of two four-row sweeps (sixteen, with two
                // float32 partials, measured slower: sixteen streams).
                for (; k + 8 <= n; k += 8) Accumulate8(ref data, rows, k, stride, b, weightsF, total, accs, magnitudes);
            }
            var float32Rows = k;
            var bounds = bound[..width];
            if (float32Rows > 0) Float32Bounds(accs, magnitudes, total, bounds);
            var largest = AccumulateFloat64(ref data, rows, weights, k, stride, b, accs);
            if (float32Rows > 0 && !Float32Holds(accs, bounds, total))
            {
                // Values spread far wider than their mean: the float32 partials may miss §13's tolerance, so this
                // block is summed again in float64.
                accs.Clear();
                largest = AccumulateFloat64(ref data, rows, weights, 0, stride, b, accs);
            }
            if (largest > SafeMagnitudeBits(n)) SumCancellingColumnsAsTheReference(ref data, rows, weights, stride, b, total, accs);
            empty += Finish(accs, total, b, target);
        }
        return empty;
    }

    /// <summary>
    /// One row with a positive weight (a lone domain's update, the online Reptile step): the weighted mean is the
    /// row itself (q = w / w = 1 exactly, so the reference's sum q x / sum q is x), so its values go straight to the
    /// target, with no accumulators and no division. The general path's w x / w, rounded to float32, gives the
    /// same floats (its float64 error is far below half a float32 ulp).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int LoneRow(DomainBatch batch, int row, int c0, int c1, ColumnTarget target)
    {
        var values = batch.Row(row);
        var empty = 0;
        var c = c0;
        if (PortableVector256.IsFastWithFusedMultiplyAdd)
        {
            for (; c + 8 <= c1; c += 8)
            {
                var x = Vector256.Create((ReadOnlySpan<float>)values.Slice(c, 8));
                if (Vector256.EqualsAll(x - x, Vector256<float>.Zero))
                {
                    var (low, high) = Vector256.Widen(x);
                    target.WriteFinite8(c, low, high);
                }
                else
                {
                    for (var lane = 0; lane < 8; lane++) empty += target.Write(c + lane, values[c + lane]);
                }
            }
        }
        for (; c < c1; c++) empty += target.Write(c, values[c]);
        return empty;
    }

    /// <summary>
    /// Eight rows into the float64 accumulators: the eight products per column are summed in float32 (two
    /// chains of four), and only that partial is widened and added in float64, so a row costs one float32 FMA
    /// instead of two conversions and two float64 FMAs. Precision (§13 allows float32 where its tolerance holds):
    /// the partial's rounding is a few float32 ulps of the eight terms' magnitude, so each column's largest raw
    /// bits are kept beside it (<paramref name="magnitudes"/>, see <see cref="Float32Holds"/>) and a block where the
    /// error could reach half the tolerance (values spread far wider than their mean) is summed again in float64
    /// by the caller; the sum across groups of eight rows stays float64.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Accumulate8(ref float data, int[] rows, int k, int stride, int b, ReadOnlySpan<float> weights, double total, Span<double> acc,
        Span<uint> magnitudes)
    {
        ref var r0 = ref Unsafe.Add(ref data, (nint)rows[k] * stride + b);
        ref var r1 = ref Unsafe.Add(ref data, (nint)rows[k + 1] * stride + b);
        ref var r2 = ref Unsafe.Add(ref data, (nint)rows[k + 2] * stride + b);
        ref var r3 = ref Unsafe.Add(ref data, (nint)rows[k + 3] * stride + b);
        ref var r4 = ref Unsafe.Add(ref data, (nint)rows[k + 4] * stride + b);
        ref var r5 = ref Unsafe.Add(ref data, (nint)rows[k + 5] * stride + b);
        ref var r6 = ref Unsafe.Add(ref data, (nint)rows[k + 6] * stride + b);
        ref var r7 = ref Unsafe.Add(ref data, (nint)rows[k + 7] * stride + b);
        // The eight weights from memory (each FMA reads its own): in registers, with the cells and the sums,
        // they made the JIT spill some of them on every column vector.
        var v = stackalloc Vector256<float>[8];
        for (var j = 0; j < 8; j++) v[j] = Vector256.Create(weights[k + j]);
        var scale = Vector256.Create(total);
        var width = acc.Length;
        ref var a = ref MemoryMarshal.GetReference(acc);
        ref var m = ref MemoryMarshal.GetReference(magnitudes);
        var c = 0;
        for (; c + 8 <= width; c += 8)
        {
            var at = (nuint)c;
            // Beside the sums, the largest raw bits as unsigned ints: the most negative value's when the column
            // has a negative cell (sign bit set, then magnitude order), else the largest value's. One integer max
            // per cell, off the two FMA pipes, folded in pair by pair to keep few registers live.
            var x0 = Vector256.LoadUnsafe(ref r0, at);
            var x4 = Vector256.LoadUnsafe(ref r4, at);
            var q0 = x0 * v[0];
            var q1 = x4 * v[4];
            var largest = Vector256.Max(Vector256.LoadUnsafe(ref m, at), Vector256.Max(x0.AsUInt32(), x4.AsUInt32()));
            var x1 = Vector256.LoadUnsafe(ref r1, at);
            var x5 = Vector256.LoadUnsafe(ref r5, at);
            q0 = Vector256.FusedMultiplyAdd(x1, v[1], q0);
            q1 = Vector256.FusedMultiplyAdd(x5, v[5], q1);
            largest = Vector256.Max(largest, Vector256.Max(x1.AsUInt32(), x5.AsUInt32()));
            var x2 = Vector256.LoadUnsafe(ref r2, at);
            var x6 = Vector256.LoadUnsafe(ref r6, at);
            q0 = Vector256.FusedMultiplyAdd(x2, v[2], q0);
            q1 = Vector256.FusedMultiplyAdd(x6, v[6], q1);
            largest = Vector256.Max(largest, Vector256.Max(x2.AsUInt32(), x6.AsUInt32()));
            var x3 = Vector256.LoadUnsafe(ref r3, at);
            var x7 = Vector256.LoadUnsafe(ref r7, at);
            q0 = Vector256.FusedMultiplyAdd(x3, v[3], q0);
            q1 = Vector256.FusedMultiplyAdd(x7, v[7], q1);
            Vector256.Max(largest, Vector256.Max(x3.AsUInt32(), x7.AsUInt32())).StoreUnsafe(ref m, at);
            var (lo, hi) = Vector256.Widen(q0 + q1);
            Vector256.FusedMultiplyAdd(lo, scale, Vector256.LoadUnsafe(ref a, at)).StoreUnsafe(ref a, at);
            Vector256.FusedMultiplyAdd(hi, scale, Vector256.LoadUnsafe(ref a, at + 4)).StoreUnsafe(ref a, at + 4);
        }
        for (; c < width; c++)
        {
            // float64 products (exact for float32 operands); the float32 weights' rounding is what the bound covers.
            Unsafe.Add(ref a, c) += total * ((double)weights[k] * Unsafe.Add(ref r0, c) + (double)weights[k + 1] * Unsafe.Add(ref r1, c)
                + (double)weights[k + 2] * Unsafe.Add(ref r2, c) + (double)weights[k + 3] * Unsafe.Add(ref r3, c)
                + (double)weights[k + 4] * Unsafe.Add(ref r4, c) + (double)weights[k + 5] * Unsafe.Add(ref r5, c)
                + (double)weights[k + 6] * Unsafe.Add(ref r6, c) + (double)weights[k + 7] * Unsafe.Add(ref r7, c));
            var largest = Unsafe.Add(ref m, c);
            largest = Math.Max(largest, Math.Max(BitConverter.SingleToUInt32Bits(Unsafe.Add(ref r0, c)), BitConverter.SingleToUInt32Bits(Unsafe.Add(ref r1, c))));
            largest = Math.Max(largest, Math.Max(BitConverter.SingleToUInt32Bits(Unsafe.Add(ref r2, c)), BitConverter.SingleToUInt32Bits(Unsafe.Add(ref r3, c))));
            largest = Math.Max(largest, Math.Max(BitConverter.SingleToUInt32Bits(Unsafe.Add(ref r4, c)), BitConverter.SingleToUInt32Bits(Unsafe.Add(ref r5, c))));
            Unsafe.Add(ref m, c) = Math.Max(largest, Math.Max(BitConverter.SingleToUInt32Bits(Unsafe.Add(ref r6, c)), BitConverter.SingleToUInt32Bits(Unsafe.Add(ref r7, c))));
        }
    }

    /// <summary>
    /// Each column's bound on the error of its float32 partials, from the accumulators as those rows left them:
    /// at most <see cref="SumPrecision.WeightedFloat32"/> times the sum of w |x| over those rows (normalised weights,
    /// non-negative, at most 1 in all). That sum is their sum of w x plus twice their negative cells' share, at most
    /// |sum of w x| + 2 |most negative value|: <paramref name="magnitudes"/> holds each column's largest raw bits as
    /// unsigned ints, the most negative value's when there is one. Without negative cells the rows cannot cancel
    /// and the bound is a few float32 units of the sum itself.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Float32Bounds(ReadOnlySpan<double> acc, ReadOnlySpan<uint> magnitudes, double total, Span<double> bounds)
    {
        var inverse = 1.0 / total;
        var c = 0;
        if (PortableVector256.IsFastWithFusedMultiplyAdd)
        {
            var factor = Vector256.Create(SumPrecision.WeightedFloat32);
            var scale = Vector256.Create(inverse);
            for (; c + 8 <= acc.Length; c += 8)
            {
                var bits = Vector256.Create(magnitudes.Slice(c, 8));
                var negative = Vector256.Abs(bits.AsSingle()) & Vector256.LessThan(bits.AsInt32(), Vector256<int>.Zero).AsSingle();
                var (low, high) = Vector256.Widen(negative);
                (factor * (Vector256.Abs(Vector256.Create(acc.Slice(c, 4)) * scale) + low + low)).CopyTo(bounds.Slice(c, 4));
                (factor * (Vector256.Abs(Vector256.Create(acc.Slice(c + 4, 4)) * scale) + high + high)).CopyTo(bounds.Slice(c + 4, 4));
            }
        }
        for (; c < acc.Length; c++)
        {
            var negative = (int)magnitudes[c] < 0 ? Math.Abs(BitConverter.UInt32BitsToSingle(magnitudes[c])) : 0.0;
            bounds[c] = SumPrecision.WeightedFloat32 * (Math.Abs(acc[c] * inverse) + 2.0 * negative);
        }
    }

    /// <summary>
    /// Whether every column's float32 error bound keeps §13's tolerance around its finished mean (all rows summed),
    /// and the mean is a float32. Otherwise the caller sums the block again in float64: a non-finite bound or mean
    /// comes from a non-finite cell (non-finite again in float64, written empty) or from a float32 partial that
    /// overflowed (cells near float.MaxValue, whose float32 weights add up to a hair over their total), which the
    /// float64 sum does not.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Float32Holds(ReadOnlySpan<double> acc, ReadOnlySpan<double> bounds, double total)
    {
        var inverse = 1.0 / total;
        var c = 0;
        if (PortableVector256.IsFastWithFusedMultiplyAdd)
        {
            var scale = Vector256.Create(inverse);
            var largest = Vector256.Create((double)float.MaxValue);
            for (; c + 4 <= acc.Length; c += 4)
            {
                var mean = Vector256.Create(acc.Slice(c, 4)) * scale;
                var bound = Vector256.Create(bounds.Slice(c, 4));
                // NaN fails every compare, as in the scalar loop below.
                var holds = SumPrecision.Holds(mean, bound) & Vector256.LessThanOrEqual(Vector256.Abs(bound), largest)
                    & Vector256.LessThanOrEqual(Vector256.Abs(mean), largest);
                if (holds.AsInt64() != Vector256<long>.AllBitsSet) return false;
            }
        }
        for (; c < acc.Length; c++)
        {
            var mean = acc[c] * inverse;
            if (!SumPrecision.Holds(mean, bounds[c]) || !(Math.Abs(bounds[c]) <= float.MaxValue) || !(Math.Abs(mean) <= float.MaxValue)) return false;
        }
        return true;
    }

    /// <summary>Rows <paramref name="first"/> on of a block into the float64 accumulators, four at a time; returns
    /// the largest |x| they hold, as float bits (NaN and infinity above every finite value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint AccumulateFloat64(ref float data, int[] rows, double[] weights, int first, int stride, int b, Span<double> acc)
    {
        var n = rows.Length;
        var k = first;
        var largest = 0u;
        for (; k + 4 <= n; k += 4)
        {
            largest = Math.Max(largest, Accumulate4(ref Unsafe.Add(ref data, (nint)rows[k] * stride + b), ref Unsafe.Add(ref data, (nint)rows[k + 1] * stride + b),
                ref Unsafe.Add(ref data, (nint)rows[k + 2] * stride + b), ref Unsafe.Add(ref data, (nint)rows[k + 3] * stride + b),
                weights[k], weights[k + 1], weights[k + 2], weights[k + 3], acc));
        }
        for (; k < n; k++)
            largest = Math.Max(largest, Accumulate1(ref Unsafe.Add(ref data, (nint)rows[k] * stride + b), weights[k], acc));
        return largest;
    }

    /// <summary>
    /// The largest |x| (as float bits) below which no column of <paramref name="rows"/> rows can cancel past half of
    /// §13's tolerance: the float64 sums here and the reference's each err by at most
    /// <see cref="SumPrecision.Float64"/> times the sum of q |x|, itself at most the largest |x| (the q sum to 1).
    /// About 2.6e9 at 64 rows: a bound real parameters never reach.
    /// </summary>
    private static uint SafeMagnitudeBits(int rows) => BitConverter.SingleToUInt32Bits((float)(0.5e-4 / SumPrecision.Float64(rows)));

    /// <summary>
    /// Columns whose magnitudes reach past <see cref="SafeMagnitudeBits"/> and whose sum may have cancelled beyond
    /// the tolerance (two domains sending +m and -m, m near 1e13 or more) are summed again in the reference's own
    /// arithmetic (q = w / the sum of w, q x added in row order without fused multiply-adds): where the terms
    /// cancel, only the same operations in the same order give its value. The FMA accumulators keep each
    /// product's rounding error (m·q against -m·q leaves it behind) and missed it by 1e-4 at m = 1e13, by 880 at
    /// 1e20. Stored back as value × total, which <see cref="Finish"/> divides again (a rounding far inside the
    /// tolerance).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void SumCancellingColumnsAsTheReference(ref float data, int[] rows, double[] weights, int stride, int b, double total, Span<double> acc)
    {
        var n = rows.Length;
        var factor = SumPrecision.Float64(n);
        for (var c = 0; c < acc.Length; c++)
        {
            var largest = 0.0;
            for (var k = 0; k < n; k++) largest = Math.Max(largest, Math.Abs((double)Unsafe.Add(ref data, (nint)rows[k] * stride + b + c)));
            if (SumPrecision.Holds(acc[c] / total, factor * largest)) continue;
            double num = 0.0, den = 0.0;
            for (var k = 0; k < n; k++)
            {
                var q = weights[k] / total;
                num += q * Unsafe.Add(ref data, (nint)rows[k] * stride + b + c);
                den += q;
            }
            acc[c] = num / den * total;
        }
    }

    /// <summary>Four rows into the accumulators; returns their largest |x| as float bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint Accumulate4(ref float r0, ref float r1, ref float r2, ref float r3, double w0, double w1, double w2, double w3, Span<double> acc)
    {
        var width = acc.Length;
        ref var a = ref MemoryMarshal.GetReference(acc);
        var c = 0;
        var largest = 0u;
        if (Vector512.IsHardwareAccelerated)
        {
            var v0 = Vector512.Create(w0); var v1 = Vector512.Create(w1); var v2 = Vector512.Create(w2); var v3 = Vector512.Create(w3);
            var abs = Vector512.Create(0x7FFF_FFFFu);
            var m = Vector512<uint>.Zero;
            for (; c + 16 <= width; c += 16)
            {
                var y0 = Vector512.LoadUnsafe(ref r0, (nuint)c);
                var y1 = Vector512.LoadUnsafe(ref r1, (nuint)c);
                var y2 = Vector512.LoadUnsafe(ref r2, (nuint)c);
                var y3 = Vector512.LoadUnsafe(ref r3, (nuint)c);
                m = Vector512.Max(m, Vector512.Max(Vector512.Max(y0.AsUInt32() & abs, y1.AsUInt32() & abs), Vector512.Max(y2.AsUInt32() & abs, y3.AsUInt32() & abs)));
                var (x0l, x0h) = Vector512.Widen(y0);
                var (x1l, x1h) = Vector512.Widen(y1);
                var (x2l, x2h) = Vector512.Widen(y2);
                var (x3l, x3h) = Vector512.Widen(y3);
                var lo = Vector512.LoadUnsafe(ref a, (nuint)c);
                var hi = Vector512.LoadUnsafe(ref a, (nuint)(c + 8));
                lo = Vector512.FusedMultiplyAdd(x3l, v3, Vector512.FusedMultiplyAdd(x2l, v2, Vector512.FusedMultiplyAdd(x1l, v1, Vector512.FusedMultiplyAdd(x0l, v0, lo))));
                hi = Vector512.FusedMultiplyAdd(x3h, v3, Vector512.FusedMultiplyAdd(x2h, v2, Vector512.FusedMultiplyAdd(x1h, v1, Vector512.FusedMultiplyAdd(x0h, v0, hi))));
                lo.StoreUnsafe(ref a, (nuint)c);
                hi.StoreUnsafe(ref a, (nuint)(c + 8));
            }
            largest = Math.Max(MaxLane(Vector256.Max(m.GetLower(), m.GetUpper())), largest);
        }
        else if (PortableVector256.IsFastWithFusedMultiplyAdd)
        {
            var v0 = Vector256.Create(w0); var v1 = Vector256.Create(w1); var v2 = Vector256.Create(w2); var v3 = Vector256.Create(w3);
            var abs = Vector256.Create(0x7FFF_FFFFu);
            var m = Vector256<uint>.Zero;
            for (; c + 8 <= width; c += 8)
            {
                var y0 = Vector256.LoadUnsafe(ref r0, (nuint)c);
                var y1 = Vector256.LoadUnsafe(ref r1, (nuint)c);
                var y2 = Vector256.LoadUnsafe(ref r2, (nuint)c);
                var y3 = Vector256.LoadUnsafe(ref r3, (nuint)c);
                m = Vector256.Max(m, Vector256.Max(Vector256.Max(y0.AsUInt32() & abs, y1.AsUInt32() & abs), Vector256.Max(y2.AsUInt32() & abs, y3.AsUInt32() & abs)));
                var (x0l, x0h) = Vector256.Widen(y0);
                var (x1l, x1h) = Vector256.Widen(y1);
                var (x2l, x2h) = Vector256.Widen(y2);
                var (x3l, x3h) = Vector256.Widen(y3);
                var lo = Vector256.LoadUnsafe(ref a, (nuint)c);
                var hi = Vector256.LoadUnsafe(ref a, (nuint)(c + 4));
                lo = Vector256.FusedMultiplyAdd(x3l, v3, Vector256.FusedMultiplyAdd(x2l, v2, Vector256.FusedMultiplyAdd(x1l, v1, Vector256.FusedMultiplyAdd(x0l, v0, lo))));
                hi = Vector256.FusedMultiplyAdd(x3h, v3, Vector256.FusedMultiplyAdd(x2h, v2, Vector256.FusedMultiplyAdd(x1h, v1, Vector256.FusedMultiplyAdd(x0h, v0, hi))));
                lo.StoreUnsafe(ref a, (nuint)c);
                hi.StoreUnsafe(ref a, (nuint)(c + 4));
            }
            largest = Math.Max(MaxLane(m), largest);
        }
        for (; c < width; c++)
        {
            Unsafe.Add(ref a, c) += w0 * Unsafe.Add(ref r0, c) + w1 * Unsafe.Add(ref r1, c) + w2 * Unsafe.Add(ref r2, c) + w3 * Unsafe.Add(ref r3, c);
            largest = Math.Max(largest, Math.Max(Math.Max(Magnitude(Unsafe.Add(ref r0, c)), Magnitude(Unsafe.Add(ref r1, c))),
                Math.Max(Magnitude(Unsafe.Add(ref r2, c)), Magnitude(Unsafe.Add(ref r3, c)))));
        }
        return largest;
    }

    /// <summary>The largest of the eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint MaxLane(Vector256<uint> v)
    {
        var m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2u, 3u, 0u, 1u)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1u, 0u, 3u, 2u)));
        return m.ToScalar();
    }

    /// <summary>|x| as float bits (ordered as the magnitudes are; NaN above infinity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Magnitude(float x) => BitConverter.SingleToUInt32Bits(x) & 0x7FFF_FFFFu;

    /// <summary>One row into the accumulators; returns its largest |x| as float bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint Accumulate1(ref float r0, double w0, Span<double> acc)
    {
        var width = acc.Length;
        ref var a = ref MemoryMarshal.GetReference(acc);
        var c = 0;
        var largest = 0u;
        if (PortableVector256.IsFastWithFusedMultiplyAdd)
        {
            var v0 = Vector256.Create(w0);
            var abs = Vector256.Create(0x7FFF_FFFFu);
            var m = Vector256<uint>.Zero;
            for (; c + 8 <= width; c += 8)
            {
                var y0 = Vector256.LoadUnsafe(ref r0, (nuint)c);
                m = Vector256.Max(m, y0.AsUInt32() & abs);
                var (x0l, x0h) = Vector256.Widen(y0);
                Vector256.FusedMultiplyAdd(x0l, v0, Vector256.LoadUnsafe(ref a, (nuint)c)).StoreUnsafe(ref a, (nuint)c);
                Vector256.FusedMultiplyAdd(x0h, v0, Vector256.LoadUnsafe(ref a, (nuint)(c + 4))).StoreUnsafe(ref a, (nuint)(c + 4));
            }
            largest = MaxLane(m);
        }
        for (; c < width; c++)
        {
            Unsafe.Add(ref a, c) += w0 * Unsafe.Add(ref r0, c);
            largest = Math.Max(largest, Magnitude(Unsafe.Add(ref r0, c)));
        }
        return largest;
    }

    /// <summary>Divides by the weight sum and writes the aggregate and/or steps the prior; returns how many columns
    /// came out NaN (an unmasked non-finite cell reached the primitive): those are written as the scalar path
    /// writes them, empty, leaving the prior's value unchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Finish(Span<double> acc, double total, int first, ColumnTarget target)
    {
        var width = acc.Length;
        var c = 0;
        var empty = 0;
        if (PortableVector256.IsFastWithFusedMultiplyAdd)
        {
            var t = Vector256.Create(total);
            for (; c + 8 <= width; c += 8)
            {
                var low = Vector256.Create(acc.Slice(c, 4)) / t;
                var high = Vector256.Create(acc.Slice(c + 4, 4)) / t;
                var v = Vector256.Narrow(low, high);
                // Only finite lanes take the vector write: an infinite one (an infinite cell) goes through Write,
                // which writes it the same way and tells an unscanned combine about it.
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero))
                {
                    for (var lane = 0; lane < 8; lane++) empty += target.Write(first + c + lane, acc[c + lane] / total);
                    continue;
                }
                // The step as the reference computes each value (no fused multiply-add, whose single rounding put a
                // delta step just past float.MaxValue at float.MaxValue, not infinity), as every other kernel writes.
                target.WriteFinite8(first + c, low, high);
            }
        }
        for (; c < width; c++) empty += target.Write(first + c, acc[c] / total);
        return empty;
    }
}
