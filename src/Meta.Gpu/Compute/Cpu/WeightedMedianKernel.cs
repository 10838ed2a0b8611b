using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The weighted median over unmasked rows, eight columns per Vector256. Each cell becomes one int key: the value's
/// order-preserving bits with the low b bits replaced by the row position (b = log2 of the padded row count), so
/// one min/max network (<see cref="ColumnSortNetwork"/>, no payload) sorts (value, row) pairs at the cost of the
/// plain median's sort. A float64 running sum of the weights in key order (gathered by the position bits) finds
/// the pick of DESIGN §4 step 6 for all lanes at once; each lane then reads its picked cell's true value.
/// </summary>
/// <remarks>
/// Keys that share their high bits (a "group": values within 2^b units in the last place) order by row, not by
/// value. Equal values order by row in the reference too, so a group of equal values sorts exactly as there; a
/// group that mixes distinct values may not. Key order is exact across groups, so the prefix of the key order up
/// to the picked cell is the reference's prefix whenever the picked cell's group holds one value only: then the
/// pick, its running sum and the averaging decision are the reference's (the sums differ in rounding order only,
/// far inside the 1e-12 S slack). The next value for the mean is the least value of the following group. A lane
/// whose picked cell's group mixes values (estimated at a few in a thousand columns of the §13 workload) is
/// redone on the exact path. S is the sum of all the rows' weights (every cell is present on this path).
/// </remarks>
internal static unsafe class WeightedMedianKernel
{
    public const int MaxRows = 256;

    public static bool IsSupported => Vector256.IsHardwareAccelerated && Avx2.IsSupported;

    [SkipLocalsInit]
    public static void Run(DomainBatch batch, int[] rows, double[] weights, int c0, int c1, ColumnTarget target, CombineJob exact)
    {
        var n = rows.Length;
        var width = Vector256<int>.Count;
        var end = c0 + (c1 - c0) / width * width;
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(n, 8));
        var rowMask = size - 1;
        Span<Vector256<int>> tile = stackalloc Vector256<int>[size];
        Span<double> ranks = stackalloc double[width];
        Span<long> averaged = stackalloc long[width];
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = (nint)batch.Stride;
        var total = 0.0;
        foreach (var w in weights) total += w;
        var half = Vector256.Create(total / 2.0);
        var eps = Vector256.Create(ExactColumnRules.WeightedMedianSlack * total);
        var threshold = half - eps;
        var high = Vector256.Create(~rowMask);
        var magnitude = Vector256.Create(0x7FFFFFFF);

        fixed (double* wp = weights)
        {
            RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Ahead));
            for (var c = c0; c < end; c += width)
            {
                if ((c & 15) == 0) RowPrefetch.Line(ref data, rows, stride, c, batch.Columns);
                ref var t = ref tile[0];
                // Whole groups of eight rows become keys and are sorted in registers straight from the batch.
                var whole = n / 8 * 8;
                for (var g = 0; g < whole; g += 8)
                {
                    var a0 = Key(ref data, rows, stride, c, g, high, magnitude);
                    var a1 = Key(ref data, rows, stride, c, g + 1, high, magnitude);
                    var a2 = Key(ref data, rows, stride, c, g + 2, high, magnitude);
                    var a3 = Key(ref data, rows, stride, c, g + 3, high, magnitude);
                    var a4 = Key(ref data, rows, stride, c, g + 4, high, magnitude);
                    var a5 = Key(ref data, rows, stride, c, g + 5, high, magnitude);
                    var a6 = Key(ref data, rows, stride, c, g + 6, high, magnitude);
                    var a7 = Key(ref data, rows, stride, c, g + 7, high, magnitude);
                    ColumnSortNetwork.Sort8(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
                    ref var o = ref Unsafe.Add(ref t, g);
                    o = a0;
                    Unsafe.Add(ref o, 1) = a1;
                    Unsafe.Add(ref o, 2) = a2;
                    Unsafe.Add(ref o, 3) = a3;
                    Unsafe.Add(ref o, 4) = a4;
                    Unsafe.Add(ref o, 5) = a5;
                    Unsafe.Add(ref o, 6) = a6;
                    Unsafe.Add(ref o, 7) = a7;
                }
                if (whole < n)
                {
                    for (var r = whole; r < n; r++) Unsafe.Add(ref t, r) = Key(ref data, rows, stride, c, r, high, magnitude);
                    tile[n..(whole + 8)].Fill(Vector256.Create(int.MaxValue));
                    ColumnSortNetwork.Sort8(ref Unsafe.Add(ref t, whole));
                }
                // The groups past the rows are all int.MaxValue: sorted already.
                var filled = whole < n ? whole + 8 : whole;
                if (filled < size) tile[filled..].Fill(Vector256.Create(int.MaxValue));
                ColumnSortNetwork.MergeRuns(tile, size);

                // Lanes 0-3 and 4-7 run as two float64 halves.
                Pick(tile, n, wp, rowMask, threshold, half, eps, upper: false, ranks, averaged);
                Pick(tile, n, wp, rowMask, threshold, half, eps, upper: true, ranks[4..], averaged[4..]);
                for (var lane = 0; lane < width; lane++)
                {
                    var value = Finish(ref data, rows, stride, c, lane, tile, n, rowMask, (int)ranks[lane], averaged[lane] != 0);
                    if (value is double v) target.Write(c + lane, v);
                    else exact.RunExact(c + lane, c + lane + 1, target);
                }
            }
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    /// <summary>Per lane: the rank of the picked cell in key order and whether the pick takes the mean with the next.</summary>
    private static void Pick(
        Span<Vector256<int>> tile, int n, double* weights, int rowMask, Vector256<double> threshold,
        Vector256<double> half, Vector256<double> eps, bool upper, Span<double> ranks, Span<long> averaged)
    {
        var running = Vector256<double>.Zero;
        var found = Vector256<double>.Zero;   // all ones where the pick is made
        var average = Vector256<double>.Zero; // all ones where the pick is the mean with the next value
        var rank = Vector256.Create((double)(n - 1));
        var positions = Vector128.Create(rowMask);
        for (var j = 0; j < n; j++)
        {
            var keys = upper ? tile[j].GetUpper() : tile[j].GetLower();
            running += Avx2.GatherVector256(weights, keys & positions, 8);
            var crossing = Vector256.GreaterThanOrEqual(running, threshold) & ~found;
            if (crossing == Vector256<double>.Zero) continue;
            rank = Vector256.ConditionalSelect(crossing, Vector256.Create((double)j), rank);
            found |= crossing;
            if (j + 1 < n) average |= crossing & Vector256.LessThanOrEqual(Vector256.Abs(running - half), eps);
            if (found.AsInt64() == Vector256<long>.AllBitsSet) break;
        }
        // A lane never found is reachable only through rounding in the running sum: the heaviest end (rank n-1).
        rank.CopyTo(ranks);
        average.AsInt64().CopyTo(averaged);
    }

    /// <summary>
    /// The picked value of column <c>c + lane</c> (the mean with the next value when <paramref name="average"/>),
    /// or null when the picked cell's key group mixes distinct values and the lane must take the exact path.
    /// </summary>
    private static double? Finish(
        ref float data, int[] rows, nint stride, int c, int lane, Span<Vector256<int>> tile, int n, int rowMask, int rank, bool average)
    {
        ref var keys = ref Unsafe.As<Vector256<int>, int>(ref MemoryMarshal.GetReference(tile));
        var key = Unsafe.Add(ref keys, rank * 8 + lane);
        var group = key & ~rowMask;
        var value = Value(ref data, rows, stride, c + lane, key & rowMask);
        for (var i = rank - 1; i >= 0; i--)
        {
            var k = Unsafe.Add(ref keys, i * 8 + lane);
            if ((k & ~rowMask) != group) break;
            if (Value(ref data, rows, stride, c + lane, k & rowMask) != value) return null;
        }
        var next = rank + 1;
        for (; next < n; next++)
        {
            var k = Unsafe.Add(ref keys, next * 8 + lane);
            if ((k & ~rowMask) != group) break;
            if (Value(ref data, rows, stride, c + lane, k & rowMask) != value) return null;
        }
        if (!average || next > rank + 1) return value; // the next cell is an equal value: the mean is the value
        // The next value in the reference's order is the least of the following group.
        var first = Unsafe.Add(ref keys, next * 8 + lane);
        var nextGroup = first & ~rowMask;
        var least = Value(ref data, rows, stride, c + lane, first & rowMask);
        for (var i = next + 1; i < n; i++)
        {
            var k = Unsafe.Add(ref keys, i * 8 + lane);
            if ((k & ~rowMask) != nextGroup) break;
            least = Math.Min(least, Value(ref data, rows, stride, c + lane, k & rowMask));
        }
        return ((double)value + least) / 2.0;
    }

    /// <summary>Row position <paramref name="r"/>'s key for the eight columns from <paramref name="c"/> on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Key(ref float data, int[] rows, nint stride, int c, int r, Vector256<int> high, Vector256<int> magnitude)
    {
        var v = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
        // ExactColumnRules.OrderedBits lane-wise: -0 as +0, negatives with their magnitude bits flipped.
        var bits = Vector256.AndNot(v.AsInt32(), Vector256.Equals(v, Vector256<float>.Zero).AsInt32());
        bits ^= Vector256.ShiftRightArithmetic(bits, 31) & magnitude;
        return (bits & high) | Vector256.Create(r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Value(ref float data, int[] rows, nint stride, int column, int position) =>
        Unsafe.Add(ref data, rows[position] * stride + column);
}
