using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The running lists of the streamed trimmed mean (<see cref="TrimmedMeanKernel"/>): per column vector, the
/// <see cref="Size"/> smallest keys in ascending order and the <see cref="Size"/> largest in descending order,
/// merged with each sorted group of eight rows. A list longer than k + 1 serves as well (its first k + 1 entries
/// are the k + 1 extremes), so four sizes cover k + 1 up to 32: 7 (trim_alpha 0.1 at 60-69 rows, the standard
/// case, lighter than 8), 8, 16 and 32. Written over <see cref="IKeyLanes{TKeys}"/>: one list entry is a vector of
/// keys, eight columns (Vector256) or sixteen (Vector512).
/// </summary>
/// <remarks>
/// Merging: the Size smallest of an ascending list s and an ascending group g are min(s[i], g'[i]), g' the
/// group reversed and padded in front with +inf (the lower half of a bitonic merge: itself bitonic), then sorted
/// by a bitonic sorter; the largest likewise with max, the list descending and the group padded with -inf.
/// One method per side, each with few enough locals for the JIT to inline it into the streaming loop (a call per
/// column vector, its eight vectors passed on the stack, cost the loop a tenth of its speed).
/// </remarks>
internal interface IExtremeLists
{
    /// <summary>Keys per list.</summary>
    static abstract int Size { get; }

    /// <summary>Columns per streamed block where the lists must stay in L1: the block's lists (2 Size x BlockColumns
    /// keys), the group of eight rows being merged and the next group being prefetched stay in L1 (48 KiB on the
    /// Xeon measured: with 512 columns the lists of seven alone took 28 KiB, and the kernel ran 14 % slower on one
    /// core), its rows in L2. Where wider blocks measured faster (Zen 4) the pass takes a multiple of it
    /// (<see cref="SelectionBlocks"/>).</summary>
    static abstract int BlockColumns { get; }

    /// <summary>Merges the ascending group g0..g7 into the ascending list of the smallest keys at
    /// <paramref name="s"/>; <paramref name="first"/> starts it from the group.</summary>
    static abstract void MergeSmallest<TKeys, TLanes>(ref TKeys s, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>;

    /// <summary>Merges the ascending group g0..g7 into the descending list of the largest keys at
    /// <paramref name="l"/>; <paramref name="first"/> starts it from the group.</summary>
    static abstract void MergeLargest<TKeys, TLanes>(ref TKeys l, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>;
}

/// <summary>Lists of seven: the seven-long bitonic half is sorted by a pruned 9-comparator merger.</summary>
internal struct ExtremeLists7 : IExtremeLists
{
    public static int Size => 7;

    public static int BlockColumns => 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MergeSmallest<TKeys, TLanes>(ref TKeys s, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        if (first)
        {
            s = g0; Unsafe.Add(ref s, 1) = g1; Unsafe.Add(ref s, 2) = g2; Unsafe.Add(ref s, 3) = g3;
            Unsafe.Add(ref s, 4) = g4; Unsafe.Add(ref s, 5) = g5; Unsafe.Add(ref s, 6) = g6;
            return;
        }
        var m0_0 = TLanes.Min(s, g6); var m1_0 = TLanes.Min(Unsafe.Add(ref s, 1), g5);
        var m2_0 = TLanes.Min(Unsafe.Add(ref s, 2), g4); var m3_0 = TLanes.Min(Unsafe.Add(ref s, 3), g3);
        var m4_0 = TLanes.Min(Unsafe.Add(ref s, 4), g2); var m5_0 = TLanes.Min(Unsafe.Add(ref s, 5), g1);
        var m6_0 = TLanes.Min(Unsafe.Add(ref s, 6), g0);
        var m0_1 = TLanes.Min(m0_0, m4_0); var m4_1 = TLanes.Max(m0_0, m4_0);
        var m1_1 = TLanes.Min(m1_0, m5_0); var m5_1 = TLanes.Max(m1_0, m5_0);
        var m2_1 = TLanes.Min(m2_0, m6_0); var m6_1 = TLanes.Max(m2_0, m6_0);
        var m0_2 = TLanes.Min(m0_1, m2_1); var m2_2 = TLanes.Max(m0_1, m2_1);
        var m4_2 = TLanes.Min(m4_1, m6_1); var m6_2 = TLanes.Max(m4_1, m6_1);
        var m5_2 = TLanes.Min(m5_1, m3_0); var m3_1 = TLanes.Max(m5_1, m3_0);
        var m2_3 = TLanes.Min(m2_2, m1_1); var m1_2 = TLanes.Max(m2_2, m1_1);
        var m4_3 = TLanes.Min(m4_2, m5_2); var m5_3 = TLanes.Max(m4_2, m5_2);
        var m6_3 = TLanes.Min(m6_2, m3_1); var m3_2 = TLanes.Max(m6_2, m3_1);
        s = m0_2; Unsafe.Add(ref s, 1) = m2_3; Unsafe.Add(ref s, 2) = m1_2; Unsafe.Add(ref s, 3) = m4_3;
        Unsafe.Add(ref s, 4) = m5_3; Unsafe.Add(ref s, 5) = m6_3; Unsafe.Add(ref s, 6) = m3_2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MergeLargest<TKeys, TLanes>(ref TKeys l, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        if (first)
        {
            l = g7; Unsafe.Add(ref l, 1) = g6; Unsafe.Add(ref l, 2) = g5; Unsafe.Add(ref l, 3) = g4;
            Unsafe.Add(ref l, 4) = g3; Unsafe.Add(ref l, 5) = g2; Unsafe.Add(ref l, 6) = g1;
            return;
        }
        var x0_0 = TLanes.Max(l, g1); var x1_0 = TLanes.Max(Unsafe.Add(ref l, 1), g2);
        var x2_0 = TLanes.Max(Unsafe.Add(ref l, 2), g3); var x3_0 = TLanes.Max(Unsafe.Add(ref l, 3), g4);
        var x4_0 = TLanes.Max(Unsafe.Add(ref l, 4), g5); var x5_0 = TLanes.Max(Unsafe.Add(ref l, 5), g6);
        var x6_0 = TLanes.Max(Unsafe.Add(ref l, 6), g7);
        var x0_1 = TLanes.Max(x0_0, x4_0); var x4_1 = TLanes.Min(x0_0, x4_0);
        var x1_1 = TLanes.Max(x1_0, x5_0); var x5_1 = TLanes.Min(x1_0, x5_0);
        var x2_1 = TLanes.Max(x2_0, x6_0); var x6_1 = TLanes.Min(x2_0, x6_0);
        var x0_2 = TLanes.Max(x0_1, x2_1); var x2_2 = TLanes.Min(x0_1, x2_1);
        var x4_2 = TLanes.Max(x4_1, x6_1); var x6_2 = TLanes.Min(x4_1, x6_1);
        var x5_2 = TLanes.Max(x5_1, x3_0); var x3_1 = TLanes.Min(x5_1, x3_0);
        var x2_3 = TLanes.Max(x2_2, x1_1); var x1_2 = TLanes.Min(x2_2, x1_1);
        var x4_3 = TLanes.Max(x4_2, x5_2); var x5_3 = TLanes.Min(x4_2, x5_2);
        var x6_3 = TLanes.Max(x6_2, x3_1); var x3_2 = TLanes.Min(x6_2, x3_1);
        l = x0_2; Unsafe.Add(ref l, 1) = x2_3; Unsafe.Add(ref l, 2) = x1_2; Unsafe.Add(ref l, 3) = x4_3;
        Unsafe.Add(ref l, 4) = x5_3; Unsafe.Add(ref l, 5) = x6_3; Unsafe.Add(ref l, 6) = x3_2;

    }
}

/// <summary>Lists of eight (k + 1 up to 8): eight minima, then a 12-comparator bitonic sorter, per side.</summary>
internal struct ExtremeLists8 : IExtremeLists
{
    public static int Size => 8;

    public static int BlockColumns => 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MergeSmallest<TKeys, TLanes>(ref TKeys s, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        if (first)
        {
            s = g0; Unsafe.Add(ref s, 1) = g1; Unsafe.Add(ref s, 2) = g2; Unsafe.Add(ref s, 3) = g3;
            Unsafe.Add(ref s, 4) = g4; Unsafe.Add(ref s, 5) = g5; Unsafe.Add(ref s, 6) = g6; Unsafe.Add(ref s, 7) = g7;
            return;
        }
        var m0 = TLanes.Min(s, g7); var m1 = TLanes.Min(Unsafe.Add(ref s, 1), g6); var m2 = TLanes.Min(Unsafe.Add(ref s, 2), g5); var m3 = TLanes.Min(Unsafe.Add(ref s, 3), g4);
        var m4 = TLanes.Min(Unsafe.Add(ref s, 4), g3); var m5 = TLanes.Min(Unsafe.Add(ref s, 5), g2); var m6 = TLanes.Min(Unsafe.Add(ref s, 6), g1); var m7 = TLanes.Min(Unsafe.Add(ref s, 7), g0);
        var m0_1 = TLanes.Min(m0, m4); var m4_1 = TLanes.Max(m0, m4); var m1_1 = TLanes.Min(m1, m5); var m5_1 = TLanes.Max(m1, m5);
        var m2_1 = TLanes.Min(m2, m6); var m6_1 = TLanes.Max(m2, m6); var m3_1 = TLanes.Min(m3, m7); var m7_1 = TLanes.Max(m3, m7);
        var m0_2 = TLanes.Min(m0_1, m2_1); var m2_2 = TLanes.Max(m0_1, m2_1); var m1_2 = TLanes.Min(m1_1, m3_1); var m3_2 = TLanes.Max(m1_1, m3_1);
        var m4_2 = TLanes.Min(m4_1, m6_1); var m6_2 = TLanes.Max(m4_1, m6_1); var m5_2 = TLanes.Min(m5_1, m7_1); var m7_2 = TLanes.Max(m5_1, m7_1);
        s = TLanes.Min(m0_2, m1_2); Unsafe.Add(ref s, 1) = TLanes.Max(m0_2, m1_2); Unsafe.Add(ref s, 2) = TLanes.Min(m2_2, m3_2); Unsafe.Add(ref s, 3) = TLanes.Max(m2_2, m3_2);
        Unsafe.Add(ref s, 4) = TLanes.Min(m4_2, m5_2); Unsafe.Add(ref s, 5) = TLanes.Max(m4_2, m5_2); Unsafe.Add(ref s, 6) = TLanes.Min(m6_2, m7_2); Unsafe.Add(ref s, 7) = TLanes.Max(m6_2, m7_2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MergeLargest<TKeys, TLanes>(ref TKeys l, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        if (first)
        {
            l = g7; Unsafe.Add(ref l, 1) = g6; Unsafe.Add(ref l, 2) = g5; Unsafe.Add(ref l, 3) = g4;
            Unsafe.Add(ref l, 4) = g3; Unsafe.Add(ref l, 5) = g2; Unsafe.Add(ref l, 6) = g1; Unsafe.Add(ref l, 7) = g0;
            return;
        }
        var x0 = TLanes.Max(l, g0); var x1 = TLanes.Max(Unsafe.Add(ref l, 1), g1); var x2 = TLanes.Max(Unsafe.Add(ref l, 2), g2); var x3 = TLanes.Max(Unsafe.Add(ref l, 3), g3);
        var x4 = TLanes.Max(Unsafe.Add(ref l, 4), g4); var x5 = TLanes.Max(Unsafe.Add(ref l, 5), g5); var x6 = TLanes.Max(Unsafe.Add(ref l, 6), g6); var x7 = TLanes.Max(Unsafe.Add(ref l, 7), g7);
        var x0_1 = TLanes.Max(x0, x4); var x4_1 = TLanes.Min(x0, x4); var x1_1 = TLanes.Max(x1, x5); var x5_1 = TLanes.Min(x1, x5);
        var x2_1 = TLanes.Max(x2, x6); var x6_1 = TLanes.Min(x2, x6); var x3_1 = TLanes.Max(x3, x7); var x7_1 = TLanes.Min(x3, x7);
        var x0_2 = TLanes.Max(x0_1, x2_1); var x2_2 = TLanes.Min(x0_1, x2_1); var x1_2 = TLanes.Max(x1_1, x3_1); var x3_2 = TLanes.Min(x1_1, x3_1);
        var x4_2 = TLanes.Max(x4_1, x6_1); var x6_2 = TLanes.Min(x4_1, x6_1); var x5_2 = TLanes.Max(x5_1, x7_1); var x7_2 = TLanes.Min(x5_1, x7_1);
        l = TLanes.Max(x0_2, x1_2); Unsafe.Add(ref l, 1) = TLanes.Min(x0_2, x1_2); Unsafe.Add(ref l, 2) = TLanes.Max(x2_2, x3_2); Unsafe.Add(ref l, 3) = TLanes.Min(x2_2, x3_2);
        Unsafe.Add(ref l, 4) = TLanes.Max(x4_2, x5_2); Unsafe.Add(ref l, 5) = TLanes.Min(x4_2, x5_2); Unsafe.Add(ref l, 6) = TLanes.Max(x6_2, x7_2); Unsafe.Add(ref l, 7) = TLanes.Min(x6_2, x7_2);
    }
}

/// <summary>Lists of sixteen (k + 1 from 9 to 16): the group meets the upper half of the list, then a
/// 32-comparator bitonic sorter, per side; half-width blocks keep the lists in L1.</summary>
internal struct ExtremeLists16 : IExtremeLists
{
    public static int Size => 16;

    public static int BlockColumns => 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MergeSmallest<TKeys, TLanes>(ref TKeys s, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        if (first)
        {
            s = g0; Unsafe.Add(ref s, 1) = g1; Unsafe.Add(ref s, 2) = g2; Unsafe.Add(ref s, 3) = g3;
            Unsafe.Add(ref s, 4) = g4; Unsafe.Add(ref s, 5) = g5; Unsafe.Add(ref s, 6) = g6; Unsafe.Add(ref s, 7) = g7;
            // Pads beyond every key: the kernel runs with at least 2 Size rows, whose keys replace them.
            for (var i = 8; i < 16; i++) Unsafe.Add(ref s, i) = TLanes.PadAbove;
            return;
        }
        var m0 = s; var m1 = Unsafe.Add(ref s, 1); var m2 = Unsafe.Add(ref s, 2); var m3 = Unsafe.Add(ref s, 3); var m4 = Unsafe.Add(ref s, 4); var m5 = Unsafe.Add(ref s, 5); var m6 = Unsafe.Add(ref s, 6); var m7 = Unsafe.Add(ref s, 7);
        var m8 = TLanes.Min(Unsafe.Add(ref s, 8), g7); var m9 = TLanes.Min(Unsafe.Add(ref s, 9), g6); var m10 = TLanes.Min(Unsafe.Add(ref s, 10), g5); var m11 = TLanes.Min(Unsafe.Add(ref s, 11), g4);
        var m12 = TLanes.Min(Unsafe.Add(ref s, 12), g3); var m13 = TLanes.Min(Unsafe.Add(ref s, 13), g2); var m14 = TLanes.Min(Unsafe.Add(ref s, 14), g1); var m15 = TLanes.Min(Unsafe.Add(ref s, 15), g0);
        TKeys t;
        t = TLanes.Min(m0, m8); m8 = TLanes.Max(m0, m8); m0 = t; t = TLanes.Min(m1, m9); m9 = TLanes.Max(m1, m9); m1 = t;
        t = TLanes.Min(m2, m10); m10 = TLanes.Max(m2, m10); m2 = t; t = TLanes.Min(m3, m11); m11 = TLanes.Max(m3, m11); m3 = t;
        t = TLanes.Min(m4, m12); m12 = TLanes.Max(m4, m12); m4 = t; t = TLanes.Min(m5, m13); m13 = TLanes.Max(m5, m13); m5 = t;
        t = TLanes.Min(m6, m14); m14 = TLanes.Max(m6, m14); m6 = t; t = TLanes.Min(m7, m15); m15 = TLanes.Max(m7, m15); m7 = t;
        t = TLanes.Min(m0, m4); m4 = TLanes.Max(m0, m4); m0 = t; t = TLanes.Min(m1, m5); m5 = TLanes.Max(m1, m5); m1 = t;
        t = TLanes.Min(m2, m6); m6 = TLanes.Max(m2, m6); m2 = t; t = TLanes.Min(m3, m7); m7 = TLanes.Max(m3, m7); m3 = t;
        t = TLanes.Min(m8, m12); m12 = TLanes.Max(m8, m12); m8 = t; t = TLanes.Min(m9, m13); m13 = TLanes.Max(m9, m13); m9 = t;
        t = TLanes.Min(m10, m14); m14 = TLanes.Max(m10, m14); m10 = t; t = TLanes.Min(m11, m15); m15 = TLanes.Max(m11, m15); m11 = t;
        t = TLanes.Min(m0, m2); m2 = TLanes.Max(m0, m2); m0 = t; t = TLanes.Min(m1, m3); m3 = TLanes.Max(m1, m3); m1 = t;
        t = TLanes.Min(m4, m6); m6 = TLanes.Max(m4, m6); m4 = t; t = TLanes.Min(m5, m7); m7 = TLanes.Max(m5, m7); m5 = t;
        t = TLanes.Min(m8, m10); m10 = TLanes.Max(m8, m10); m8 = t; t = TLanes.Min(m9, m11); m11 = TLanes.Max(m9, m11); m9 = t;
        t = TLanes.Min(m12, m14); m14 = TLanes.Max(m12, m14); m12 = t; t = TLanes.Min(m13, m15); m15 = TLanes.Max(m13, m15); m13 = t;
        t = TLanes.Min(m0, m1); m1 = TLanes.Max(m0, m1); m0 = t; t = TLanes.Min(m2, m3); m3 = TLanes.Max(m2, m3); m2 = t;
        t = TLanes.Min(m4, m5); m5 = TLanes.Max(m4, m5); m4 = t; t = TLanes.Min(m6, m7); m7 = TLanes.Max(m6, m7); m6 = t;
        t = TLanes.Min(m8, m9); m9 = TLanes.Max(m8, m9); m8 = t; t = TLanes.Min(m10, m11); m11 = TLanes.Max(m10, m11); m10 = t;
        t = TLanes.Min(m12, m13); m13 = TLanes.Max(m12, m13); m12 = t; t = TLanes.Min(m14, m15); m15 = TLanes.Max(m14, m15); m14 = t;
        s = m0; Unsafe.Add(ref s, 1) = m1; Unsafe.Add(ref s, 2) = m2; Unsafe.Add(ref s, 3) = m3; Unsafe.Add(ref s, 4) = m4; Unsafe.Add(ref s, 5) = m5; Unsafe.Add(ref s, 6) = m6; Unsafe.Add(ref s, 7) = m7;
        Unsafe.Add(ref s, 8) = m8; Unsafe.Add(ref s, 9) = m9; Unsafe.Add(ref s, 10) = m10; Unsafe.Add(ref s, 11) = m11; Unsafe.Add(ref s, 12) = m12; Unsafe.Add(ref s, 13) = m13; Unsafe.Add(ref s, 14) = m14; Unsafe.Add(ref s, 15) = m15;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MergeLargest<TKeys, TLanes>(ref TKeys l, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        if (first)
        {
            l = g7; Unsafe.Add(ref l, 1) = g6; Unsafe.Add(ref l, 2) = g5; Unsafe.Add(ref l, 3) = g4;
            Unsafe.Add(ref l, 4) = g3; Unsafe.Add(ref l, 5) = g2; Unsafe.Add(ref l, 6) = g1; Unsafe.Add(ref l, 7) = g0;
            // Pads beyond every key: the kernel runs with at least 2 Size rows, whose keys replace them.
            for (var i = 8; i < 16; i++) Unsafe.Add(ref l, i) = TLanes.PadBelow;
            return;
        }
        var x0 = l; var x1 = Unsafe.Add(ref l, 1); var x2 = Unsafe.Add(ref l, 2); var x3 = Unsafe.Add(ref l, 3); var x4 = Unsafe.Add(ref l, 4); var x5 = Unsafe.Add(ref l, 5); var x6 = Unsafe.Add(ref l, 6); var x7 = Unsafe.Add(ref l, 7);
        var x8 = TLanes.Max(Unsafe.Add(ref l, 8), g0); var x9 = TLanes.Max(Unsafe.Add(ref l, 9), g1); var x10 = TLanes.Max(Unsafe.Add(ref l, 10), g2); var x11 = TLanes.Max(Unsafe.Add(ref l, 11), g3);
        var x12 = TLanes.Max(Unsafe.Add(ref l, 12), g4); var x13 = TLanes.Max(Unsafe.Add(ref l, 13), g5); var x14 = TLanes.Max(Unsafe.Add(ref l, 14), g6); var x15 = TLanes.Max(Unsafe.Add(ref l, 15), g7);
        TKeys t;
        t = TLanes.Max(x0, x8); x8 = TLanes.Min(x0, x8); x0 = t; t = TLanes.Max(x1, x9); x9 = TLanes.Min(x1, x9); x1 = t;
        t = TLanes.Max(x2, x10); x10 = TLanes.Min(x2, x10); x2 = t; t = TLanes.Max(x3, x11); x11 = TLanes.Min(x3, x11); x3 = t;
        t = TLanes.Max(x4, x12); x12 = TLanes.Min(x4, x12); x4 = t; t = TLanes.Max(x5, x13); x13 = TLanes.Min(x5, x13); x5 = t;
        t = TLanes.Max(x6, x14); x14 = TLanes.Min(x6, x14); x6 = t; t = TLanes.Max(x7, x15); x15 = TLanes.Min(x7, x15); x7 = t;
        t = TLanes.Max(x0, x4); x4 = TLanes.Min(x0, x4); x0 = t; t = TLanes.Max(x1, x5); x5 = TLanes.Min(x1, x5); x1 = t;
        t = TLanes.Max(x2, x6); x6 = TLanes.Min(x2, x6); x2 = t; t = TLanes.Max(x3, x7); x7 = TLanes.Min(x3, x7); x3 = t;
        t = TLanes.Max(x8, x12); x12 = TLanes.Min(x8, x12); x8 = t; t = TLanes.Max(x9, x13); x13 = TLanes.Min(x9, x13); x9 = t;
        t = TLanes.Max(x10, x14); x14 = TLanes.Min(x10, x14); x10 = t; t = TLanes.Max(x11, x15); x15 = TLanes.Min(x11, x15); x11 = t;
        t = TLanes.Max(x0, x2); x2 = TLanes.Min(x0, x2); x0 = t; t = TLanes.Max(x1, x3); x3 = TLanes.Min(x1, x3); x1 = t;
        t = TLanes.Max(x4, x6); x6 = TLanes.Min(x4, x6); x4 = t; t = TLanes.Max(x5, x7); x7 = TLanes.Min(x5, x7); x5 = t;
        t = TLanes.Max(x8, x10); x10 = TLanes.Min(x8, x10); x8 = t; t = TLanes.Max(x9, x11); x11 = TLanes.Min(x9, x11); x9 = t;
        t = TLanes.Max(x12, x14); x14 = TLanes.Min(x12, x14); x12 = t; t = TLanes.Max(x13, x15); x15 = TLanes.Min(x13, x15); x13 = t;
        t = TLanes.Max(x0, x1); x1 = TLanes.Min(x0, x1); x0 = t; t = TLanes.Max(x2, x3); x3 = TLanes.Min(x2, x3); x2 = t;
        t = TLanes.Max(x4, x5); x5 = TLanes.Min(x4, x5); x4 = t; t = TLanes.Max(x6, x7); x7 = TLanes.Min(x6, x7); x6 = t;
        t = TLanes.Max(x8, x9); x9 = TLanes.Min(x8, x9); x8 = t; t = TLanes.Max(x10, x11); x11 = TLanes.Min(x10, x11); x10 = t;
        t = TLanes.Max(x12, x13); x13 = TLanes.Min(x12, x13); x12 = t; t = TLanes.Max(x14, x15); x15 = TLanes.Min(x14, x15); x14 = t;
        l = x0; Unsafe.Add(ref l, 1) = x1; Unsafe.Add(ref l, 2) = x2; Unsafe.Add(ref l, 3) = x3; Unsafe.Add(ref l, 4) = x4; Unsafe.Add(ref l, 5) = x5; Unsafe.Add(ref l, 6) = x6; Unsafe.Add(ref l, 7) = x7;
        Unsafe.Add(ref l, 8) = x8; Unsafe.Add(ref l, 9) = x9; Unsafe.Add(ref l, 10) = x10; Unsafe.Add(ref l, 11) = x11; Unsafe.Add(ref l, 12) = x12; Unsafe.Add(ref l, 13) = x13; Unsafe.Add(ref l, 14) = x14; Unsafe.Add(ref l, 15) = x15;
    }
}

/// <summary>Lists of thirty-two (k + 1 from 17 to 32): the group meets the last quarter of the list; the first
/// bitonic level runs through L1 and each half is then sorted in registers (thirty-two vectors do not fit the
/// sixteen AVX2 registers); half-width blocks keep the lists in L1.</summary>
internal struct ExtremeLists32 : IExtremeLists
{
    public static int Size => 32;

    public static int BlockColumns => 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MergeSmallest<TKeys, TLanes>(ref TKeys s, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        if (first)
        {
            Start<TKeys, TLanes>(ref s, TLanes.PadAbove, g0, g1, g2, g3, g4, g5, g6, g7);
            return;
        }
        Unsafe.Add(ref s, 24) = TLanes.Min(Unsafe.Add(ref s, 24), g7); Unsafe.Add(ref s, 25) = TLanes.Min(Unsafe.Add(ref s, 25), g6);
        Unsafe.Add(ref s, 26) = TLanes.Min(Unsafe.Add(ref s, 26), g5); Unsafe.Add(ref s, 27) = TLanes.Min(Unsafe.Add(ref s, 27), g4);
        Unsafe.Add(ref s, 28) = TLanes.Min(Unsafe.Add(ref s, 28), g3); Unsafe.Add(ref s, 29) = TLanes.Min(Unsafe.Add(ref s, 29), g2);
        Unsafe.Add(ref s, 30) = TLanes.Min(Unsafe.Add(ref s, 30), g1); Unsafe.Add(ref s, 31) = TLanes.Min(Unsafe.Add(ref s, 31), g0);
        for (var i = 0; i < 16; i++)
        {
            var a = Unsafe.Add(ref s, i);
            var b = Unsafe.Add(ref s, i + 16);
            Unsafe.Add(ref s, i) = TLanes.Min(a, b);
            Unsafe.Add(ref s, i + 16) = TLanes.Max(a, b);
        }
        SortAscending16<TKeys, TLanes>(ref s);
        SortAscending16<TKeys, TLanes>(ref Unsafe.Add(ref s, 16));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MergeLargest<TKeys, TLanes>(ref TKeys l, bool first,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        if (first)
        {
            Start<TKeys, TLanes>(ref l, TLanes.PadBelow, g7, g6, g5, g4, g3, g2, g1, g0);
            return;
        }
        Unsafe.Add(ref l, 24) = TLanes.Max(Unsafe.Add(ref l, 24), g0); Unsafe.Add(ref l, 25) = TLanes.Max(Unsafe.Add(ref l, 25), g1);
        Unsafe.Add(ref l, 26) = TLanes.Max(Unsafe.Add(ref l, 26), g2); Unsafe.Add(ref l, 27) = TLanes.Max(Unsafe.Add(ref l, 27), g3);
        Unsafe.Add(ref l, 28) = TLanes.Max(Unsafe.Add(ref l, 28), g4); Unsafe.Add(ref l, 29) = TLanes.Max(Unsafe.Add(ref l, 29), g5);
        Unsafe.Add(ref l, 30) = TLanes.Max(Unsafe.Add(ref l, 30), g6); Unsafe.Add(ref l, 31) = TLanes.Max(Unsafe.Add(ref l, 31), g7);
        for (var i = 0; i < 16; i++)
        {
            var a = Unsafe.Add(ref l, i);
            var b = Unsafe.Add(ref l, i + 16);
            Unsafe.Add(ref l, i) = TLanes.Max(a, b);
            Unsafe.Add(ref l, i + 16) = TLanes.Min(a, b);
        }
        SortDescending16<TKeys, TLanes>(ref l);
        SortDescending16<TKeys, TLanes>(ref Unsafe.Add(ref l, 16));
    }

    /// <summary>The first group in list order, then pads beyond every key (the kernel runs with at least 2 Size rows,
    /// whose keys replace them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Start<TKeys, TLanes>(ref TKeys t, TKeys pad,
        TKeys g0, TKeys g1, TKeys g2, TKeys g3,
        TKeys g4, TKeys g5, TKeys g6, TKeys g7)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        t = g0; Unsafe.Add(ref t, 1) = g1; Unsafe.Add(ref t, 2) = g2; Unsafe.Add(ref t, 3) = g3;
        Unsafe.Add(ref t, 4) = g4; Unsafe.Add(ref t, 5) = g5; Unsafe.Add(ref t, 6) = g6; Unsafe.Add(ref t, 7) = g7;
        for (var i = 8; i < 32; i++) Unsafe.Add(ref t, i) = pad;
    }

    /// <summary>Sorts the bitonic run of sixteen at <paramref name="t"/> ascending in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SortAscending16<TKeys, TLanes>(ref TKeys t)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        var m0 = t; var m1 = Unsafe.Add(ref t, 1); var m2 = Unsafe.Add(ref t, 2); var m3 = Unsafe.Add(ref t, 3); var m4 = Unsafe.Add(ref t, 4); var m5 = Unsafe.Add(ref t, 5); var m6 = Unsafe.Add(ref t, 6); var m7 = Unsafe.Add(ref t, 7);
        var m8 = Unsafe.Add(ref t, 8); var m9 = Unsafe.Add(ref t, 9); var m10 = Unsafe.Add(ref t, 10); var m11 = Unsafe.Add(ref t, 11); var m12 = Unsafe.Add(ref t, 12); var m13 = Unsafe.Add(ref t, 13); var m14 = Unsafe.Add(ref t, 14); var m15 = Unsafe.Add(ref t, 15);
        TKeys x;
        x = TLanes.Min(m0, m8); m8 = TLanes.Max(m0, m8); m0 = x; x = TLanes.Min(m1, m9); m9 = TLanes.Max(m1, m9); m1 = x;
        x = TLanes.Min(m2, m10); m10 = TLanes.Max(m2, m10); m2 = x; x = TLanes.Min(m3, m11); m11 = TLanes.Max(m3, m11); m3 = x;
        x = TLanes.Min(m4, m12); m12 = TLanes.Max(m4, m12); m4 = x; x = TLanes.Min(m5, m13); m13 = TLanes.Max(m5, m13); m5 = x;
        x = TLanes.Min(m6, m14); m14 = TLanes.Max(m6, m14); m6 = x; x = TLanes.Min(m7, m15); m15 = TLanes.Max(m7, m15); m7 = x;
        x = TLanes.Min(m0, m4); m4 = TLanes.Max(m0, m4); m0 = x; x = TLanes.Min(m1, m5); m5 = TLanes.Max(m1, m5); m1 = x;
        x = TLanes.Min(m2, m6); m6 = TLanes.Max(m2, m6); m2 = x; x = TLanes.Min(m3, m7); m7 = TLanes.Max(m3, m7); m3 = x;
        x = TLanes.Min(m8, m12); m12 = TLanes.Max(m8, m12); m8 = x; x = TLanes.Min(m9, m13); m13 = TLanes.Max(m9, m13); m9 = x;
        x = TLanes.Min(m10, m14); m14 = TLanes.Max(m10, m14); m10 = x; x = TLanes.Min(m11, m15); m15 = TLanes.Max(m11, m15); m11 = x;
        x = TLanes.Min(m0, m2); m2 = TLanes.Max(m0, m2); m0 = x; x = TLanes.Min(m1, m3); m3 = TLanes.Max(m1, m3); m1 = x;
        x = TLanes.Min(m4, m6); m6 = TLanes.Max(m4, m6); m4 = x; x = TLanes.Min(m5, m7); m7 = TLanes.Max(m5, m7); m5 = x;
        x = TLanes.Min(m8, m10); m10 = TLanes.Max(m8, m10); m8 = x; x = TLanes.Min(m9, m11); m11 = TLanes.Max(m9, m11); m9 = x;
        x = TLanes.Min(m12, m14); m14 = TLanes.Max(m12, m14); m12 = x; x = TLanes.Min(m13, m15); m15 = TLanes.Max(m13, m15); m13 = x;
        x = TLanes.Min(m0, m1); m1 = TLanes.Max(m0, m1); m0 = x; x = TLanes.Min(m2, m3); m3 = TLanes.Max(m2, m3); m2 = x;
        x = TLanes.Min(m4, m5); m5 = TLanes.Max(m4, m5); m4 = x; x = TLanes.Min(m6, m7); m7 = TLanes.Max(m6, m7); m6 = x;
        x = TLanes.Min(m8, m9); m9 = TLanes.Max(m8, m9); m8 = x; x = TLanes.Min(m10, m11); m11 = TLanes.Max(m10, m11); m10 = x;
        x = TLanes.Min(m12, m13); m13 = TLanes.Max(m12, m13); m12 = x; x = TLanes.Min(m14, m15); m15 = TLanes.Max(m14, m15); m14 = x;
        t = m0; Unsafe.Add(ref t, 1) = m1; Unsafe.Add(ref t, 2) = m2; Unsafe.Add(ref t, 3) = m3; Unsafe.Add(ref t, 4) = m4; Unsafe.Add(ref t, 5) = m5; Unsafe.Add(ref t, 6) = m6; Unsafe.Add(ref t, 7) = m7;
        Unsafe.Add(ref t, 8) = m8; Unsafe.Add(ref t, 9) = m9; Unsafe.Add(ref t, 10) = m10; Unsafe.Add(ref t, 11) = m11; Unsafe.Add(ref t, 12) = m12; Unsafe.Add(ref t, 13) = m13; Unsafe.Add(ref t, 14) = m14; Unsafe.Add(ref t, 15) = m15;
    }

    /// <summary>Sorts the bitonic run of sixteen at <paramref name="t"/> descending in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SortDescending16<TKeys, TLanes>(ref TKeys t)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        var m0 = t; var m1 = Unsafe.Add(ref t, 1); var m2 = Unsafe.Add(ref t, 2); var m3 = Unsafe.Add(ref t, 3); var m4 = Unsafe.Add(ref t, 4); var m5 = Unsafe.Add(ref t, 5); var m6 = Unsafe.Add(ref t, 6); var m7 = Unsafe.Add(ref t, 7);
        var m8 = Unsafe.Add(ref t, 8); var m9 = Unsafe.Add(ref t, 9); var m10 = Unsafe.Add(ref t, 10); var m11 = Unsafe.Add(ref t, 11); var m12 = Unsafe.Add(ref t, 12); var m13 = Unsafe.Add(ref t, 13); var m14 = Unsafe.Add(ref t, 14); var m15 = Unsafe.Add(ref t, 15);
        TKeys x;
        x = TLanes.Max(m0, m8); m8 = TLanes.Min(m0, m8); m0 = x; x = TLanes.Max(m1, m9); m9 = TLanes.Min(m1, m9); m1 = x;
        x = TLanes.Max(m2, m10); m10 = TLanes.Min(m2, m10); m2 = x; x = TLanes.Max(m3, m11); m11 = TLanes.Min(m3, m11); m3 = x;
        x = TLanes.Max(m4, m12); m12 = TLanes.Min(m4, m12); m4 = x; x = TLanes.Max(m5, m13); m13 = TLanes.Min(m5, m13); m5 = x;
        x = TLanes.Max(m6, m14); m14 = TLanes.Min(m6, m14); m6 = x; x = TLanes.Max(m7, m15); m15 = TLanes.Min(m7, m15); m7 = x;
        x = TLanes.Max(m0, m4); m4 = TLanes.Min(m0, m4); m0 = x; x = TLanes.Max(m1, m5); m5 = TLanes.Min(m1, m5); m1 = x;
        x = TLanes.Max(m2, m6); m6 = TLanes.Min(m2, m6); m2 = x; x = TLanes.Max(m3, m7); m7 = TLanes.Min(m3, m7); m3 = x;
        x = TLanes.Max(m8, m12); m12 = TLanes.Min(m8, m12); m8 = x; x = TLanes.Max(m9, m13); m13 = TLanes.Min(m9, m13); m9 = x;
        x = TLanes.Max(m10, m14); m14 = TLanes.Min(m10, m14); m10 = x; x = TLanes.Max(m11, m15); m15 = TLanes.Min(m11, m15); m11 = x;
        x = TLanes.Max(m0, m2); m2 = TLanes.Min(m0, m2); m0 = x; x = TLanes.Max(m1, m3); m3 = TLanes.Min(m1, m3); m1 = x;
        x = TLanes.Max(m4, m6); m6 = TLanes.Min(m4, m6); m4 = x; x = TLanes.Max(m5, m7); m7 = TLanes.Min(m5, m7); m5 = x;
        x = TLanes.Max(m8, m10); m10 = TLanes.Min(m8, m10); m8 = x; x = TLanes.Max(m9, m11); m11 = TLanes.Min(m9, m11); m9 = x;
        x = TLanes.Max(m12, m14); m14 = TLanes.Min(m12, m14); m12 = x; x = TLanes.Max(m13, m15); m15 = TLanes.Min(m13, m15); m13 = x;
        x = TLanes.Max(m0, m1); m1 = TLanes.Min(m0, m1); m0 = x; x = TLanes.Max(m2, m3); m3 = TLanes.Min(m2, m3); m2 = x;
        x = TLanes.Max(m4, m5); m5 = TLanes.Min(m4, m5); m4 = x; x = TLanes.Max(m6, m7); m7 = TLanes.Min(m6, m7); m6 = x;
        x = TLanes.Max(m8, m9); m9 = TLanes.Min(m8, m9); m8 = x; x = TLanes.Max(m10, m11); m11 = TLanes.Min(m10, m11); m10 = x;
        x = TLanes.Max(m12, m13); m13 = TLanes.Min(m12, m13); m12 = x; x = TLanes.Max(m14, m15); m15 = TLanes.Min(m14, m15); m14 = x;
        t = m0; Unsafe.Add(ref t, 1) = m1; Unsafe.Add(ref t, 2) = m2; Unsafe.Add(ref t, 3) = m3; Unsafe.Add(ref t, 4) = m4; Unsafe.Add(ref t, 5) = m5; Unsafe.Add(ref t, 6) = m6; Unsafe.Add(ref t, 7) = m7;
        Unsafe.Add(ref t, 8) = m8; Unsafe.Add(ref t, 9) = m9; Unsafe.Add(ref t, 10) = m10; Unsafe.Add(ref t, 11) = m11; Unsafe.Add(ref t, 12) = m12; Unsafe.Add(ref t, 13) = m13; Unsafe.Add(ref t, 14) = m14; Unsafe.Add(ref t, 15) = m15;
    }
}
