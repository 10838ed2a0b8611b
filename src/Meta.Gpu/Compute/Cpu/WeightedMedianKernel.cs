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
        var runs = RunTile.ForThread<int>(size, out var blockColumns);

        fixed (double* wp = weights)
        {
            for (var b = c0; b < end; b += blockColumns)
            {
                var vectors = Math.Min(blockColumns, end - b) / width;
                SortBlock(ref data, rows, stride, b, vectors, size, runs, high, magnitude);
                for (var v = 0; v < vectors; v++)
                {
                    var c = b + v * width;
                    var tile = runs.Slice(v * size, size);
                    ColumnSortNetwork.MergeRuns(tile, size);

                    // Lanes 0-3 and 4-7 run as two float64 halves.
                    Pick(tile, n, wp, rowMask, threshold, half, eps, upper: false, ranks, averaged);
                    Pick(tile, n, wp, rowMask, threshold, half, eps, upper: true, ranks[4..], averaged[4..]);
                    for (var lane = 0; lane < width; lane++)
                    {
                        var value = Finish(ref data, rows, stride, c, lane, tile, n, rowMask, (int)ranks[lane], averaged[lane] != 0);
                        if (value is double x) target.Write(c + lane, x);
                        else exact.RunExact(c + lane, c + lane + 1, target);
                    }
                }
            }
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    /// <summary>
    /// Pass A over the <paramref name="vectors"/> column vectors from <paramref name="b"/> on: reads eight rows at a
    /// time across the whole block (eight streams the hardware prefetchers follow, where walking one column group
    /// down all rows would read N streams at once), turns them into keys, sorts each eight-row group per vector in
    /// registers and stores the runs in the tile (vector v's rows at v·<paramref name="size"/>), padded to
    /// <paramref name="size"/> rows with int.MaxValue.
    /// </summary>
    private static void SortBlock(
        ref float data, int[] rows, nint stride, int b, int vectors, int size, Span<Vector256<int>> runs,
        Vector256<int> high, Vector256<int> magnitude)
    {
        var n = rows.Length;
        ref var t = ref runs[0];
        var whole = n / 8 * 8;
        for (var g = 0; g < whole; g += 8)
        {
            ref var r0 = ref Unsafe.Add(ref data, rows[g] * stride + b);
            ref var r1 = ref Unsafe.Add(ref data, rows[g + 1] * stride + b);
            ref var r2 = ref Unsafe.Add(ref data, rows[g + 2] * stride + b);
            ref var r3 = ref Unsafe.Add(ref data, rows[g + 3] * stride + b);
            ref var r4 = ref Unsafe.Add(ref data, rows[g + 4] * stride + b);
            ref var r5 = ref Unsafe.Add(ref data, rows[g + 5] * stride + b);
            ref var r6 = ref Unsafe.Add(ref data, rows[g + 6] * stride + b);
            ref var r7 = ref Unsafe.Add(ref data, rows[g + 7] * stride + b);
            ref var o = ref Unsafe.Add(ref t, g);
            for (var v = 0; v < vectors; v++)
            {
                var c = (nuint)(v * 8);
                var a0 = KeyOf(Vector256.LoadUnsafe(ref r0, c), g, high, magnitude);
                var a1 = KeyOf(Vector256.LoadUnsafe(ref r1, c), g + 1, high, magnitude);
                var a2 = KeyOf(Vector256.LoadUnsafe(ref r2, c), g + 2, high, magnitude);
                var a3 = KeyOf(Vector256.LoadUnsafe(ref r3, c), g + 3, high, magnitude);
                var a4 = KeyOf(Vector256.LoadUnsafe(ref r4, c), g + 4, high, magnitude);
                var a5 = KeyOf(Vector256.LoadUnsafe(ref r5, c), g + 5, high, magnitude);
                var a6 = KeyOf(Vector256.LoadUnsafe(ref r6, c), g + 6, high, magnitude);
                var a7 = KeyOf(Vector256.LoadUnsafe(ref r7, c), g + 7, high, magnitude);
                ColumnSortNetwork.Sort8(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
                o = a0;
                Unsafe.Add(ref o, 1) = a1;
                Unsafe.Add(ref o, 2) = a2;
                Unsafe.Add(ref o, 3) = a3;
                Unsafe.Add(ref o, 4) = a4;
                Unsafe.Add(ref o, 5) = a5;
                Unsafe.Add(ref o, 6) = a6;
                Unsafe.Add(ref o, 7) = a7;
                o = ref Unsafe.Add(ref o, size);
            }
        }
        // The groups past the rows are all int.MaxValue: sorted already.
        var filled = whole < n ? whole + 8 : whole;
        var pad = Vector256.Create(int.MaxValue);
        for (var v = 0; v < vectors; v++)
        {
            ref var run = ref Unsafe.Add(ref t, v * size);
            if (whole < n)
            {
                for (var r = whole; r < n; r++) Unsafe.Add(ref run, r) = Key(ref data, rows, stride, b + v * 8, r, high, magnitude);
                for (var r = n; r < filled; r++) Unsafe.Add(ref run, r) = pad;
                ColumnSortNetwork.Sort8(ref Unsafe.Add(ref run, whole));
            }
            for (var r = filled; r < size; r++) Unsafe.Add(ref run, r) = pad;
        }
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
    private static Vector256<int> Key(ref float data, int[] rows, nint stride, int c, int r, Vector256<int> high, Vector256<int> magnitude) =>
        KeyOf(Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c)), r, high, magnitude);

    /// <summary>The key of row position <paramref name="r"/>'s values <paramref name="v"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> KeyOf(Vector256<float> v, int r, Vector256<int> high, Vector256<int> magnitude)
    {
        // ExactColumnRules.OrderedBits lane-wise: -0 as +0, negatives with their magnitude bits flipped.
        var bits = Vector256.AndNot(v.AsInt32(), Vector256.Equals(v, Vector256<float>.Zero).AsInt32());
        bits ^= Vector256.ShiftRightArithmetic(bits, 31) & magnitude;
        return (bits & high) | Vector256.Create(r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Value(ref float data, int[] rows, nint stride, int column, int position) =>
        Unsafe.Add(ref data, rows[position] * stride + column);
}
