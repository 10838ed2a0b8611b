using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The unweighted median over unmasked rows, eight columns per Vector256. The values are sorted as
/// order-preserving int keys (<see cref="OrderedKeys.Of(Vector256{float})"/>), because the machines this path serves run int min/max at twice
/// the float rate; only the middle pair is turned back into floats. Each column group's N keys, padded to a power
/// of two M of at least 8, are sorted into runs of eight in registers (Knuth's 19 comparators) while eight rows
/// stream in; then for M = 16, 32, 64 a pruned
/// selection network (<see cref="MedianSelectionNetwork"/>) yields the middle pair, the pads split between
/// -inf and +inf so the real median sits at the network's middle ranks; beyond that the runs are merged into two
/// sorted halves and the middle one or two order statistics selected from them. Their mean is taken in float64.
/// The median's value does not depend on how ties are ordered, so the network needs no row payload and its
/// result equals the reference's exactly. Both zeros have the key 0, so where the middle pair is zeros their signs
/// are read from the rows (<see cref="NegativeZeroMedians"/>).
/// </summary>
internal static unsafe class MedianKernel
{
    /// <summary>Largest padded row count (one column vector's runs fill 16 KiB of the thread's tile).</summary>
    public const int MaxRows = 512;

    /// <summary>Combines columns [c0, c1) into <paramref name="target"/>; the scalar tail goes to the exact path.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(DomainBatch batch, int[] rows, int c0, int c1, ColumnTarget target, CombineJob exact)
    {
        var width = Vector256<float>.Count;
        var end = PortableVector256.IsFast ? c0 + (c1 - c0) / width * width : c0;
        Span<double> values = stackalloc double[RunTile.MaxColumns];
        if (end > c0)
        {
            var tile = RunTile.ForThread<int>(PaddedRows(rows.Length), out var blockColumns);
            for (var b = c0; b < end; b += blockColumns)
            {
                var columns = Math.Min(blockColumns, end - b);
                Block(batch, rows, b, columns, tile, values, exact.Signal);
                for (var c = 0; c < columns; c += 8)
                {
                    var low = Vector256.Create((ReadOnlySpan<double>)values[c..]);
                    var high = Vector256.Create((ReadOnlySpan<double>)values[(c + 4)..]);
                    // NaN comes only from -inf and +inf as the middle pair: the scalar write leaves those priors be.
                    if (Vector256.EqualsAll(low, low) && Vector256.EqualsAll(high, high)) target.WriteFinite8(b + c, low, high);
                    else for (var k = c; k < c + 8; k++) target.Write(b + k, values[k]);
                }
            }
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    /// <summary>
    /// Writes the medians of columns [c0, end) into <paramref name="medians"/>, where end is the last multiple of
    /// the vector width; returns end (the caller takes the rest on its exact path).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Run(DomainBatch batch, int[] rows, int c0, int c1, Span<double> medians)
    {
        var width = Vector256<float>.Count;
        if (!PortableVector256.IsFast || rows.Length == 0) return c0;
        var end = c0 + (c1 - c0) / width * width;
        if (end == c0) return c0;
        var tile = RunTile.ForThread<int>(PaddedRows(rows.Length), out var blockColumns);
        for (var b = c0; b < end; b += blockColumns)
        {
            var columns = Math.Min(blockColumns, end - b);
            Block(batch, rows, b, columns, tile, medians.Slice(b, columns), null);
        }
        return end;
    }

    /// <summary>
    /// <see cref="Run(DomainBatch, int[], int, int, Span{double})"/> and, block by block while the block's rows are
    /// still in L2, each row's sum of (x - median)^2 over those columns added to <paramref name="sums"/> (the
    /// outlier pass in one read of the batch). Returns end, as Run does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int RunWithDistances(DomainBatch batch, int[] rows, int c0, int c1, Span<double> medians, Span<double> sums)
    {
        var width = Vector256<float>.Count;
        // The distances are fused multiply-adds: lane by lane calls without them in hardware.
        if (!PortableVector256.IsFastWithFusedMultiplyAdd || rows.Length == 0) return c0;
        var end = c0 + (c1 - c0) / width * width;
        if (end == c0) return c0;
        var tile = RunTile.ForThread<int>(PaddedRows(rows.Length), out var blockColumns);
        for (var b = c0; b < end; b += blockColumns)
        {
            var columns = Math.Min(blockColumns, end - b);
            Block(batch, rows, b, columns, tile, medians.Slice(b, columns), null);
            RowKernels.AddDenseSquaredDistances(batch, rows, medians, b, b + columns, sums);
        }
        return end;
    }

    /// <summary>
    /// The middle pair of the <paramref name="size"/> (16, 32 or 64) keys at <paramref name="run"/> through the
    /// networks' 128-bit forms, one half of the eight columns at a time, where the hardware's vectors are 128-bit
    /// (<see cref="MedianSelectionNetwork"/>'s remarks).
    /// </summary>
    private static void MiddleByHalves(ref Vector256<int> run, int size, out Vector256<int> low, out Vector256<int> high)
    {
        ref var lower = ref Unsafe.As<Vector256<int>, Vector128<int>>(ref run);
        ref var upper = ref Unsafe.Add(ref lower, 1);
        Vector128<int> lowLower, highLower, lowUpper, highUpper;
        switch (size)
        {
            case 16:
                MedianSelectionNetwork.Middle16Half(ref lower, out lowLower, out highLower);
                MedianSelectionNetwork.Middle16Half(ref upper, out lowUpper, out highUpper);
                break;
            case 32:
                MedianSelectionNetwork.Middle32Half(ref lower, out lowLower, out highLower);
                MedianSelectionNetwork.Middle32Half(ref upper, out lowUpper, out highUpper);
                break;
            default:
                MedianSelectionNetwork.Middle64Half(ref lower, out lowLower, out highLower);
                MedianSelectionNetwork.Middle64Half(ref upper, out lowUpper, out highUpper);
                break;
        }
        low = Vector256.Create(lowLower, lowUpper);
        high = Vector256.Create(highLower, highUpper);
    }

    private static int PaddedRows(int n) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(n, 8));

    /// <summary>
    /// The medians of the <paramref name="columns"/> columns (a multiple of eight) from <paramref name="b"/> on.
    /// Pass A reads eight rows at a time across the whole block (eight streams the hardware prefetchers follow,
    /// where walking one column group down all rows would read N streams at once), sorts each eight-row group's
    /// keys per column vector in registers and stores the sorted run in the tile (vector v's rows at v·M); pass B
    /// selects each vector's median from its runs, in L2. With a <paramref name="signal"/> (rows not scanned), pass B
    /// first checks each vector's keys for a non-finite value: the ends of the sorted runs and the rows past them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(DomainBatch batch, int[] rows, int b, int columns, Span<Vector256<int>> tile, Span<double> result, NonFiniteSignal? signal)
    {
        var n = rows.Length;
        var size = PaddedRows(n);
        var vectors = columns / 8;
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = (nint)batch.Stride;
        ref var t = ref tile[0];
        var whole = n / 8 * 8;
        // The next group's rows (after the last group, the next block's first ones) are prefetched, a line of each
        // every two vectors (RowPrefetch.NextGroup).
        Span<nint> ahead = stackalloc nint[8];
        fixed (float* values = batch.Values)
        {
            var origin = (nint)values;
            for (var g = 0; g < whole; g += 8)
            {
                RowPrefetch.NextGroup(ahead, origin, rows, stride, g, whole, b, columns);
                var p0 = ahead[0]; var p1 = ahead[1]; var p2 = ahead[2]; var p3 = ahead[3];
                var p4 = ahead[4]; var p5 = ahead[5]; var p6 = ahead[6]; var p7 = ahead[7];
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
                    if ((v & 1) == 0) RowPrefetch.Line(p0, p1, p2, p3, p4, p5, p6, p7, (nint)c * sizeof(float));
                    var a0 = OrderedKeys.Of(Vector256.LoadUnsafe(ref r0, c));
                    var a1 = OrderedKeys.Of(Vector256.LoadUnsafe(ref r1, c));
                    var a2 = OrderedKeys.Of(Vector256.LoadUnsafe(ref r2, c));
                    var a3 = OrderedKeys.Of(Vector256.LoadUnsafe(ref r3, c));
                    var a4 = OrderedKeys.Of(Vector256.LoadUnsafe(ref r4, c));
                    var a5 = OrderedKeys.Of(Vector256.LoadUnsafe(ref r5, c));
                    var a6 = OrderedKeys.Of(Vector256.LoadUnsafe(ref r6, c));
                    var a7 = OrderedKeys.Of(Vector256.LoadUnsafe(ref r7, c));
                    StoreSorted8(ref o, a0, a1, a2, a3, a4, a5, a6, a7);
                    o = ref Unsafe.Add(ref o, size);
                }
            }
        }
        // The pads: the selection networks read ranks M/2 - 1 and M/2, so half the pads (the smaller half for an
        // odd N, whose median is then rank M/2 - 1) go below every value; the merge path reads the real ranks and
        // pads above. In row order the -inf pads come first, so the groups past the rows are sorted already and
        // only the last partial group needs sorting.
        var lowPads = size is 16 or 32 or 64 ? (size - n) / 2 : 0;
        var below = OrderedKeys.Of(Vector256.Create(float.NegativeInfinity));
        var above = OrderedKeys.Of(Vector256.Create(float.PositiveInfinity));
        var filled = whole < n ? whole + 8 : whole;
        var lowRank = (n - 1) / 2 + lowPads;
        var highRank = n / 2 + lowPads;
        var finiteLow = OrderedKeys.Of(Vector256.Create(-float.MaxValue));
        var finiteHigh = OrderedKeys.Of(Vector256.Create(float.MaxValue));
        for (var v = 0; v < vectors; v++)
        {
            ref var run = ref Unsafe.Add(ref t, v * size);
            if (n < size)
            {
                for (var r = whole; r < n; r++) Unsafe.Add(ref run, r) = OrderedKeys.Of(Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + b + v * 8)));
            }
            if (signal is not null)
            {
                var lowest = finiteLow;
                var highest = finiteHigh;
                for (var g = 0; g < whole; g += 8)
                {
                    lowest = Vector256.Min(lowest, Unsafe.Add(ref run, g));
                    highest = Vector256.Max(highest, Unsafe.Add(ref run, g + 7));
                }
                for (var r = whole; r < n; r++)
                {
                    lowest = Vector256.Min(lowest, Unsafe.Add(ref run, r));
                    highest = Vector256.Max(highest, Unsafe.Add(ref run, r));
                }
                if (OrderedKeys.AnyNonFinite(lowest, highest, finiteLow, finiteHigh)) signal.Raise();
            }
            if (n < size)
            {
                for (var r = n; r < size; r++) Unsafe.Add(ref run, r) = r - n < lowPads ? below : above;
                if (whole < n) ColumnSortNetwork.Sort8(ref Unsafe.Add(ref run, whole));
            }
            Vector256<int> low, high;
            switch (size)
            {
                case 8:
                    low = Unsafe.Add(ref run, lowRank);
                    high = Unsafe.Add(ref run, highRank);
                    break;
                case 16 or 32 or 64 when !Vector256.IsHardwareAccelerated:
                    MiddleByHalves(ref run, size, out low, out high);
                    break;
                case 16:
                    MedianSelectionNetwork.Middle16(ref run, out low, out high);
                    break;
                case 32:
                    MedianSelectionNetwork.Middle32(ref run, out low, out high);
                    break;
                case 64:
                    MedianSelectionNetwork.Middle64(ref run, out low, out high);
                    break;
                default:
                    SelectFromHalves(tile.Slice(v * size, size), lowRank, highRank, out low, out high);
                    break;
            }
            if (n % 2 == 1) high = low;
            var (al, ah) = Vector256.Widen(OrderedKeys.ValueOf(low));
            var (bl, bh) = Vector256.Widen(OrderedKeys.ValueOf(high));
            var halfOf = Vector256.Create(0.5);
            ((al + bl) * halfOf).CopyTo(result[(v * 8)..]);
            ((ah + bh) * halfOf).CopyTo(result[(v * 8 + 4)..]);
            var zeros = Vector256.Equals(low, Vector256<int>.Zero) & Vector256.Equals(high, Vector256<int>.Zero);
            if (zeros != Vector256<int>.Zero)
            {
                var negative = (zeros & NegativeZeroMedians(ref data, rows, stride, b + v * 8)).ExtractMostSignificantBits();
                for (var lane = 0; lane < 8; lane++)
                {
                    if ((negative >> lane & 1) != 0) result[v * 8 + lane] = -0.0;
                }
            }
        }
    }

    /// <summary>
    /// Lanes of the eight columns from <paramref name="column"/> whose middle pair (one cell for an odd count) is
    /// -0 in the reference's order, for lanes whose middle pair are zeros: the reference orders -0 and +0 as one
    /// value, by row, so the zeros hold ranks L .. L+Z-1 (L the negative cells) in row order, and the median is -0
    /// when the zero at rank (n-1)/2 (and at n/2 for an even count: -0 + +0 is +0) is. One pass down the rows (two
    /// where a lane holds a -0); only column vectors with a zero median pay it (a zero-initialised bias no domain
    /// changed, say).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> NegativeZeroMedians(ref float data, int[] rows, nint stride, int column)
    {
        var n = rows.Length;
        var negatives = Vector256<int>.Zero;
        var negativeZeros = Vector256<int>.Zero;
        var negativeZero = Vector256.Create(int.MinValue);
        for (var r = 0; r < n; r++)
        {
            var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + column));
            negatives -= Vector256.LessThan(x, Vector256<float>.Zero).AsInt32();
            negativeZeros |= Vector256.Equals(x.AsInt32(), negativeZero);
        }
        if (negativeZeros == Vector256<int>.Zero) return Vector256<int>.Zero;
        var lowAt = Vector256.Create((n - 1) / 2) - negatives;
        var highAt = Vector256.Create(n / 2) - negatives;
        var seen = Vector256<int>.Zero;
        var lowNegative = Vector256<int>.Zero;
        var highNegative = Vector256<int>.Zero;
        for (var r = 0; r < n; r++)
        {
            var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + column));
            var zero = Vector256.Equals(x, Vector256<float>.Zero).AsInt32();
            var signed = Vector256.LessThan(x.AsInt32(), Vector256<int>.Zero);
            lowNegative |= zero & signed & Vector256.Equals(seen, lowAt);
            highNegative |= zero & signed & Vector256.Equals(seen, highAt);
            seen -= zero;
        }
        return lowNegative & highNegative;
    }

    /// <summary>
    /// Stores the eight keys sorted at <paramref name="o"/>: Knuth's 19 comparators (as in
    /// <see cref="ColumnSortNetwork"/>'s Sort8) with each min written to the local that the comparator before
    /// freed, so that no register copies sit between them, and each sorted row stored from wherever it ended up.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreSorted8(
        ref Vector256<int> o, Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3,
        Vector256<int> a4, Vector256<int> a5, Vector256<int> a6, Vector256<int> a7)
    {
        var x = Vector256.MinNative(a0, a2);
        a2 = Vector256.MaxNative(a0, a2);
        a0 = Vector256.MinNative(a1, a3);
        a3 = Vector256.MaxNative(a1, a3);
        a1 = Vector256.MinNative(a4, a6);
        a6 = Vector256.MaxNative(a4, a6);
        a4 = Vector256.MinNative(a5, a7);
        a7 = Vector256.MaxNative(a5, a7);
        a5 = Vector256.MinNative(x, a1);
        a1 = Vector256.MaxNative(x, a1);
        x = Vector256.MinNative(a0, a4);
        a4 = Vector256.MaxNative(a0, a4);
        a0 = Vector256.MinNative(a2, a6);
        a6 = Vector256.MaxNative(a2, a6);
        a2 = Vector256.MinNative(a3, a7);
        a7 = Vector256.MaxNative(a3, a7);
        a3 = Vector256.MinNative(a5, x);
        x = Vector256.MaxNative(a5, x);
        a5 = Vector256.MinNative(a0, a2);
        a2 = Vector256.MaxNative(a0, a2);
        a0 = Vector256.MinNative(a1, a4);
        a4 = Vector256.MaxNative(a1, a4);
        a1 = Vector256.MinNative(a6, a7);
        a7 = Vector256.MaxNative(a6, a7);
        a6 = Vector256.MinNative(a5, a0);
        a0 = Vector256.MaxNative(a5, a0);
        a5 = Vector256.MinNative(a2, a4);
        a4 = Vector256.MaxNative(a2, a4);
        a2 = Vector256.MinNative(x, a0);
        a0 = Vector256.MaxNative(x, a0);
        x = Vector256.MinNative(a5, a1);
        a1 = Vector256.MaxNative(a5, a1);
        a5 = Vector256.MinNative(a2, a6);
        a6 = Vector256.MaxNative(a2, a6);
        a2 = Vector256.MinNative(x, a0);
        a0 = Vector256.MaxNative(x, a0);
        x = Vector256.MinNative(a4, a1);
        a1 = Vector256.MaxNative(a4, a1);
        o = a3;
        Unsafe.Add(ref o, 1) = a5;
        Unsafe.Add(ref o, 2) = a6;
        Unsafe.Add(ref o, 3) = a2;
        Unsafe.Add(ref o, 4) = a0;
        Unsafe.Add(ref o, 5) = x;
        Unsafe.Add(ref o, 6) = a1;
        Unsafe.Add(ref o, 7) = a7;
    }

    /// <summary>
    /// Ranks <paramref name="lowRank"/> and <paramref name="highRank"/> of one vector's runs of eight (M of at
    /// least 16): merged into two sorted halves, each rank selected from the halves without the last merge.
    /// </summary>
    private static void SelectFromHalves(Span<Vector256<int>> tile, int lowRank, int highRank, out Vector256<int> low, out Vector256<int> high)
    {
        ref var t = ref tile[0];
        var half = tile.Length / 2;
        ColumnSortNetwork.MergeRuns(tile, half);
        ref var second = ref Unsafe.Add(ref t, half);
        low = ColumnSortNetwork.Select(ref t, ref second, half, lowRank);
        high = highRank == lowRank ? low : ColumnSortNetwork.Select(ref t, ref second, half, highRank);
    }
}
