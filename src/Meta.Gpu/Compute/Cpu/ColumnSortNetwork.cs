using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Sorting networks over a tile of Vector256 rows (each lane one column, sorted down the rows): groups of eight
/// rows sorted in registers by the optimal 19-comparator network, then bitonic merges of sorted runs whose last
/// three half-cleaner levels (steps 4, 2, 1) also run in registers per eight rows. Only the merge levels with a
/// step of eight rows or more touch the tile between comparators. Generic over the lane type: float values (the
/// median) or int keys (the weighted median's value-and-row keys).
/// </summary>
/// <remarks>
/// The tile length is a power of two of at least eight; callers pad it with +inf, which the finite values of the
/// fast paths never exceed (int keys: int.MaxValue), so the order statistics of the real rows keep their ranks.
/// </remarks>
internal static class ColumnSortNetwork
{
    /// <summary>Sorts runs of eight, then merges runs until they are <paramref name="runLength"/> long.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SortRuns<T>(Span<Vector256<T>> tile, int runLength)
    {
        ref var t = ref tile[0];
        for (var g = 0; g < tile.Length; g += 8) Sort8(ref Unsafe.Add(ref t, g));
        MergeRuns(tile, runLength);
    }

    /// <summary>Merges the tile's sorted runs of eight until they are <paramref name="runLength"/> long.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MergeRuns<T>(Span<Vector256<T>> tile, int runLength)
    {
        ref var t = ref tile[0];
        for (var length = 8; length < runLength; length <<= 1)
        {
            for (var block = 0; block < tile.Length; block += 2 * length) MergeRuns(ref Unsafe.Add(ref t, block), length);
        }
    }

    /// <summary>
    /// The last merge level (two ascending halves of the tile into one run) carried out only as far as rows
    /// [<paramref name="from"/>, <paramref name="to"/>] need: after the first comparator level each half holds its
    /// ranks' values as a bitonic run, and every half-cleaner splits a run into a lower and an upper part by rank,
    /// so parts that miss the rows are left unsorted (their sets of values are already the right ones).
    /// <see cref="CompleteMerge"/> sorts the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MergeHalvesAround<T>(Span<Vector256<T>> tile, int from, int to)
    {
        var length = tile.Length / 2;
        ref var t = ref tile[0];
        for (var i = 0; i < length; i++) Cx(ref Unsafe.Add(ref t, i), ref Unsafe.Add(ref t, 2 * length - 1 - i));
        CleanAround(ref t, length, 0, from, to);
        CleanAround(ref Unsafe.Add(ref t, length), length, length, from, to);
    }

    /// <summary>
    /// Sorts the rows <see cref="MergeHalvesAround"/> left unsorted. The parts it did sort are unchanged: a
    /// half-cleaner over two parts already split by rank compares only ordered pairs.
    /// </summary>
    public static void CompleteMerge<T>(Span<Vector256<T>> tile)
    {
        var length = tile.Length / 2;
        ref var t = ref tile[0];
        CleanAround(ref t, length, 0, 0, tile.Length - 1);
        CleanAround(ref Unsafe.Add(ref t, length), length, length, 0, tile.Length - 1);
    }

    /// <summary>Sorts the bitonic run of <paramref name="length"/> rows at <paramref name="t"/> (tile rows from
    /// <paramref name="offset"/> on) where it meets rows [<paramref name="from"/>, <paramref name="to"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CleanAround<T>(ref Vector256<T> t, int length, int offset, int from, int to)
    {
        if (offset > to || offset + length <= from) return;
        if (length == 8)
        {
            CleanBitonic8(ref t);
            return;
        }
        var step = length / 2;
        for (var i = 0; i < step; i++) Cx(ref Unsafe.Add(ref t, i), ref Unsafe.Add(ref t, i + step));
        CleanAround(ref t, step, offset, from, to);
        CleanAround(ref Unsafe.Add(ref t, step), step, offset + step, from, to);
    }

    /// <summary>Sorts eight rows held in registers (Knuth's 19-comparator network).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sort8<T>(
        ref Vector256<T> a0, ref Vector256<T> a1, ref Vector256<T> a2, ref Vector256<T> a3,
        ref Vector256<T> a4, ref Vector256<T> a5, ref Vector256<T> a6, ref Vector256<T> a7)
    {
        Cx(ref a0, ref a2); Cx(ref a1, ref a3); Cx(ref a4, ref a6); Cx(ref a5, ref a7);
        Cx(ref a0, ref a4); Cx(ref a1, ref a5); Cx(ref a2, ref a6); Cx(ref a3, ref a7);
        Cx(ref a0, ref a1); Cx(ref a2, ref a3); Cx(ref a4, ref a5); Cx(ref a6, ref a7);
        Cx(ref a2, ref a4); Cx(ref a3, ref a5);
        Cx(ref a1, ref a4); Cx(ref a3, ref a6);
        Cx(ref a1, ref a2); Cx(ref a3, ref a4); Cx(ref a5, ref a6);
    }

    /// <summary>
    /// The <paramref name="k"/>-th smallest (0-based, per lane) of the union of two ascending runs
    /// <paramref name="a"/> and <paramref name="b"/> of <paramref name="length"/> rows each: the k+1 smallest are
    /// the first i of one run and the first k+1-i of the other for some split i, so it is the least, over the
    /// splits, of the larger of the two runs' last taken values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector256<T> Select<T>(ref Vector256<T> a, ref Vector256<T> b, int length, int k)
    {
        var first = Math.Max(0, k + 1 - length);
        var last = Math.Min(k + 1, length);
        // The splits that take nothing from one run have a single term.
        var best = first == 0 ? Unsafe.Add(ref b, k) : Vector256.MaxNative(Unsafe.Add(ref a, first - 1), Unsafe.Add(ref b, k - first));
        if (last == k + 1) best = Vector256.MinNative(best, Unsafe.Add(ref a, k));
        var end = last == k + 1 ? k : last;
        for (var i = first + 1; i <= end; i++)
            best = Vector256.MinNative(best, Vector256.MaxNative(Unsafe.Add(ref a, i - 1), Unsafe.Add(ref b, k - i)));
        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Cx<T>(ref Vector256<T> a, ref Vector256<T> b)
    {
        var x = a;
        var y = b;
        a = Vector256.MinNative(x, y);
        b = Vector256.MaxNative(x, y);
    }

    /// <summary>Sorts the eight rows at <paramref name="t"/>.</summary>
    public static void Sort8<T>(ref Vector256<T> t)
    {
        var a0 = t;
        var a1 = Unsafe.Add(ref t, 1);
        var a2 = Unsafe.Add(ref t, 2);
        var a3 = Unsafe.Add(ref t, 3);
        var a4 = Unsafe.Add(ref t, 4);
        var a5 = Unsafe.Add(ref t, 5);
        var a6 = Unsafe.Add(ref t, 6);
        var a7 = Unsafe.Add(ref t, 7);
        Sort8(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
        t = a0;
        Unsafe.Add(ref t, 1) = a1;
        Unsafe.Add(ref t, 2) = a2;
        Unsafe.Add(ref t, 3) = a3;
        Unsafe.Add(ref t, 4) = a4;
        Unsafe.Add(ref t, 5) = a5;
        Unsafe.Add(ref t, 6) = a6;
        Unsafe.Add(ref t, 7) = a7;
    }

    /// <summary>Sorts a bitonic run of eight rows in registers (half-cleaners with steps 4, 2, 1).</summary>
    private static void CleanBitonic8<T>(ref Vector256<T> t)
    {
        var a0 = t;
        var a1 = Unsafe.Add(ref t, 1);
        var a2 = Unsafe.Add(ref t, 2);
        var a3 = Unsafe.Add(ref t, 3);
        var a4 = Unsafe.Add(ref t, 4);
        var a5 = Unsafe.Add(ref t, 5);
        var a6 = Unsafe.Add(ref t, 6);
        var a7 = Unsafe.Add(ref t, 7);
        Cx(ref a0, ref a4); Cx(ref a1, ref a5); Cx(ref a2, ref a6); Cx(ref a3, ref a7);
        Cx(ref a0, ref a2); Cx(ref a1, ref a3); Cx(ref a4, ref a6); Cx(ref a5, ref a7);
        Cx(ref a0, ref a1); Cx(ref a2, ref a3); Cx(ref a4, ref a5); Cx(ref a6, ref a7);
        t = a0;
        Unsafe.Add(ref t, 1) = a1;
        Unsafe.Add(ref t, 2) = a2;
        Unsafe.Add(ref t, 3) = a3;
        Unsafe.Add(ref t, 4) = a4;
        Unsafe.Add(ref t, 5) = a5;
        Unsafe.Add(ref t, 6) = a6;
        Unsafe.Add(ref t, 7) = a7;
    }

    /// <summary>
    /// Merges two ascending runs of <paramref name="length"/> rows (at t and t + length) into one: comparing row i
    /// with row 2·length-1-i leaves the smaller half and the larger half each bitonic, which half-cleaners sort.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeRuns<T>(ref Vector256<T> t, int length)
    {
        for (var i = 0; i < length; i++) Cx(ref Unsafe.Add(ref t, i), ref Unsafe.Add(ref t, 2 * length - 1 - i));
        for (var half = 0; half < 2 * length; half += length)
        {
            ref var h = ref Unsafe.Add(ref t, half);
            for (var step = length >> 1; step >= 8; step >>= 1)
            {
                for (var block = 0; block < length; block += 2 * step)
                {
                    for (var i = block; i < block + step; i++) Cx(ref Unsafe.Add(ref h, i), ref Unsafe.Add(ref h, i + step));
                }
            }
            for (var g = 0; g < length; g += 8) CleanBitonic8(ref Unsafe.Add(ref h, g));
        }
    }
}
