using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The weighted median over unmasked rows: eight columns per Vector256, a sorting network that sorts each
/// column's values with the row position as payload (groups of eight in registers, then bitonic merges whose
/// last three levels also run in registers: <see cref="ColumnSortNetwork"/>), then a float64 running sum of the weights in sorted order
/// (gathered by position) that finds the pick of DESIGN §4 step 6 for all lanes at once.
/// </summary>
/// <remarks>
/// The network does not order equal values by row as the reference does, but that cannot change the pick: inside
/// a run of equal values every candidate has the same value, and the running sum at the end of the run is the
/// same set of weights whatever their order (up to rounding far inside the 1e-12 S slack). S is the sum of all
/// the rows' weights (every cell is present on this path).
/// </remarks>
internal static unsafe class WeightedMedianKernel
{
    public const int MaxRows = 256;

    public static bool IsSupported => Vector256.IsHardwareAccelerated && Avx2.IsSupported;

    [SkipLocalsInit]
    public static void Run(DomainBatch batch, int[] rows, double[] weights, int c0, int c1, ColumnTarget target, CombineJob exact)
    {
        var n = rows.Length;
        var width = Vector256<float>.Count;
        var end = c0 + (c1 - c0) / width * width;
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(n, 8));
        Span<Vector256<float>> tile = stackalloc Vector256<float>[size];
        Span<Vector256<int>> order = stackalloc Vector256<int>[size];
        Span<double> picked = stackalloc double[width];
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = (nint)batch.Stride;
        var total = 0.0;
        foreach (var w in weights) total += w;
        var half = Vector256.Create(total / 2.0);
        var eps = Vector256.Create(ExactColumnRules.WeightedMedianSlack * total);
        var threshold = half - eps;

        fixed (double* wp = weights)
        {
            RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Block));
            for (var c = c0; c < end; c += width)
            {
                if ((c - c0) % RowPrefetch.Block == 0)
                    RowPrefetch.Columns(batch.Values, rows, batch.Stride, c + RowPrefetch.Block, Math.Min(end, c + 2 * RowPrefetch.Block));
                for (var r = 0; r < n; r++)
                {
                    tile[r] = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
                    order[r] = Vector256.Create(r);
                }
                tile[n..].Fill(Vector256.Create(float.PositiveInfinity));
                order[n..].Fill(Vector256.Create(0));
                ColumnSortNetwork.SortRunsWithRows(tile, order, size);

                // Lanes 0-3 and 4-7 run as two float64 halves.
                Pick(tile, order, n, wp, threshold, half, eps, upper: false, picked);
                Pick(tile, order, n, wp, threshold, half, eps, upper: true, picked[4..]);
                for (var lane = 0; lane < width; lane++) target.Write(c + lane, picked[lane]);
            }
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    private static void Pick(
        Span<Vector256<float>> tile, Span<Vector256<int>> order, int n, double* weights, Vector256<double> threshold,
        Vector256<double> half, Vector256<double> eps, bool upper, Span<double> result)
    {
        var running = Vector256<double>.Zero;
        var found = Vector256<double>.Zero;   // all ones where the pick is made
        var pending = Vector256<double>.Zero; // all ones where the pick waits for the next value
        var value = Vector256<double>.Zero;
        for (var j = 0; j < n; j++)
        {
            var v = upper ? Vector256.WidenUpper(tile[j]) : Vector256.WidenLower(tile[j]);
            // The mean with the next value for lanes whose half-mass fell on the previous one.
            value = Vector256.ConditionalSelect(pending, (value + v) * Vector256.Create(0.5), value);
            pending = Vector256<double>.Zero;
            var positions = upper ? order[j].GetUpper() : order[j].GetLower();
            running += Avx2.GatherVector256(weights, positions, 8);
            var crossing = Vector256.GreaterThanOrEqual(running, threshold) & ~found;
            if (crossing != Vector256<double>.Zero)
            {
                value = Vector256.ConditionalSelect(crossing, v, value);
                found |= crossing;
                if (j + 1 < n) pending = crossing & Vector256.LessThanOrEqual(Vector256.Abs(running - half), eps);
            }
            if (pending == Vector256<double>.Zero && found.AsInt64() == Vector256<long>.AllBitsSet) break;
        }
        // Only reachable through rounding in the running sum: the heaviest end is the answer then.
        var last = upper ? Vector256.WidenUpper(tile[n - 1]) : Vector256.WidenLower(tile[n - 1]);
        Vector256.ConditionalSelect(found, value, last).CopyTo(result);
    }
}
