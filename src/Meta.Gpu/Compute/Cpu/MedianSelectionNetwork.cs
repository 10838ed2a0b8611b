using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Selection networks for the middle pair of 16, 32 or 64 keys per lane, whose sorted runs of eight are already in
/// the tile: Batcher's odd-even merges of the runs up to one sorted run of M, pruned backwards from the two middle
/// outputs (a comparator of which only one output is read later becomes a single min or max; one whose outputs
/// are never read is dropped). That leaves 16, 132 and 524 min/max for M = 16, 32, 64, where the full merges and
/// a split-point select of the middle pair from two sorted halves took about 32, 190 and 700.
/// </summary>
/// <remarks>
/// Generated (one line per comparator, in depth-first merge order so that a finished run is read soon after it
/// is made, which keeps the live keys few for the register allocator); the keys stay in locals, never passed by
/// reference, so the JIT can keep them in registers. By the 0-1 principle the outputs are the exact order
/// statistics whatever the ties: a comparator network moves values, never changes them.
/// </remarks>
[SkipLocalsInit]
internal static class MedianSelectionNetwork
{
    /// <summary>The middle pair (ranks 7 and 8) of the 16 keys at <paramref name="t"/>, 2 sorted runs of eight.</summary>
    public static void Middle16(ref Vector256<int> t, out Vector256<int> low, out Vector256<int> high)
    {
        var w0 = t;
        var w8 = Unsafe.Add(ref t, 8);
        w8 = Vector256.MaxNative(w0, w8);
        var w4 = Unsafe.Add(ref t, 4);
        var w12 = Unsafe.Add(ref t, 12);
        w4 = Vector256.MinNative(w4, w12);
        w8 = Vector256.MaxNative(w4, w8);
        var w2 = Unsafe.Add(ref t, 2);
        var w10 = Unsafe.Add(ref t, 10);
        w10 = Vector256.MaxNative(w2, w10);
        var w6 = Unsafe.Add(ref t, 6);
        var w14 = Unsafe.Add(ref t, 14);
        w6 = Vector256.MinNative(w6, w14);
        w6 = Vector256.MinNative(w6, w10);
        w8 = Vector256.MaxNative(w6, w8);
        var w1 = Unsafe.Add(ref t, 1);
        var w9 = Unsafe.Add(ref t, 9);
        w9 = Vector256.MaxNative(w1, w9);
        var w5 = Unsafe.Add(ref t, 5);
        var w13 = Unsafe.Add(ref t, 13);
        w5 = Vector256.MinNative(w5, w13);
        w9 = Vector256.MaxNative(w5, w9);
        var w3 = Unsafe.Add(ref t, 3);
        var w11 = Unsafe.Add(ref t, 11);
        w11 = Vector256.MaxNative(w3, w11);
        var w7 = Unsafe.Add(ref t, 7);
        var w15 = Unsafe.Add(ref t, 15);
        w7 = Vector256.MinNative(w7, w15);
        w7 = Vector256.MinNative(w7, w11);
        w7 = Vector256.MinNative(w7, w9);
        { var x = Vector256.MinNative(w7, w8); w8 = Vector256.MaxNative(w7, w8); w7 = x; }
        low = w7;
        high = w8;
    }

    /// <summary>The middle pair (ranks 15 and 16) of the 32 keys at <paramref name="t"/>, 4 sorted runs of eight.</summary>
    public static void Middle32(ref Vector256<int> t, out Vector256<int> low, out Vector256<int> high)
    {
        var w0 = t;
        var w8 = Unsafe.Add(ref t, 8);
        { var x = Vector256.MinNative(w0, w8); w8 = Vector256.MaxNative(w0, w8); w0 = x; }
        var w4 = Unsafe.Add(ref t, 4);
        var w12 = Unsafe.Add(ref t, 12);
        { var x = Vector256.MinNative(w4, w12); w12 = Vector256.MaxNative(w4, w12); w4 = x; }
        { var x = Vector256.MinNative(w4, w8); w8 = Vector256.MaxNative(w4, w8); w4 = x; }
        var w2 = Unsafe.Add(ref t, 2);
        var w10 = Unsafe.Add(ref t, 10);
        { var x = Vector256.MinNative(w2, w10); w10 = Vector256.MaxNative(w2, w10); w2 = x; }
        var w6 = Unsafe.Add(ref t, 6);
        var w14 = Unsafe.Add(ref t, 14);
        { var x = Vector256.MinNative(w6, w14); w14 = Vector256.MaxNative(w6, w14); w6 = x; }
        { var x = Vector256.MinNative(w6, w10); w10 = Vector256.MaxNative(w6, w10); w6 = x; }
        { var x = Vector256.MinNative(w2, w4); w4 = Vector256.MaxNative(w2, w4); w2 = x; }
        { var x = Vector256.MinNative(w6, w8); w8 = Vector256.MaxNative(w6, w8); w6 = x; }
        { var x = Vector256.MinNative(w10, w12); w12 = Vector256.MaxNative(w10, w12); w10 = x; }
        var w1 = Unsafe.Add(ref t, 1);
        var w9 = Unsafe.Add(ref t, 9);
        { var x = Vector256.MinNative(w1, w9); w9 = Vector256.MaxNative(w1, w9); w1 = x; }
        var w5 = Unsafe.Add(ref t, 5);
        var w13 = Unsafe.Add(ref t, 13);
        { var x = Vector256.MinNative(w5, w13); w13 = Vector256.MaxNative(w5, w13); w5 = x; }
        { var x = Vector256.MinNative(w5, w9); w9 = Vector256.MaxNative(w5, w9); w5 = x; }
        var w3 = Unsafe.Add(ref t, 3);
        var w11 = Unsafe.Add(ref t, 11);
        { var x = Vector256.MinNative(w3, w11); w11 = Vector256.MaxNative(w3, w11); w3 = x; }
        var w7 = Unsafe.Add(ref t, 7);
        var w15 = Unsafe.Add(ref t, 15);
        { var x = Vector256.MinNative(w7, w15); w15 = Vector256.MaxNative(w7, w15); w7 = x; }
        { var x = Vector256.MinNative(w7, w11); w11 = Vector256.MaxNative(w7, w11); w7 = x; }
        { var x = Vector256.MinNative(w3, w5); w5 = Vector256.MaxNative(w3, w5); w3 = x; }
        { var x = Vector256.MinNative(w7, w9); w9 = Vector256.MaxNative(w7, w9); w7 = x; }
        { var x = Vector256.MinNative(w11, w13); w13 = Vector256.MaxNative(w11, w13); w11 = x; }
        { var x = Vector256.MinNative(w1, w2); w2 = Vector256.MaxNative(w1, w2); w1 = x; }
        { var x = Vector256.MinNative(w3, w4); w4 = Vector256.MaxNative(w3, w4); w3 = x; }
        { var x = Vector256.MinNative(w5, w6); w6 = Vector256.MaxNative(w5, w6); w5 = x; }
        { var x = Vector256.MinNative(w7, w8); w8 = Vector256.MaxNative(w7, w8); w7 = x; }
        { var x = Vector256.MinNative(w9, w10); w10 = Vector256.MaxNative(w9, w10); w9 = x; }
        { var x = Vector256.MinNative(w11, w12); w12 = Vector256.MaxNative(w11, w12); w11 = x; }
        { var x = Vector256.MinNative(w13, w14); w14 = Vector256.MaxNative(w13, w14); w13 = x; }
        var w16 = Unsafe.Add(ref t, 16);
        var w24 = Unsafe.Add(ref t, 24);
        { var x = Vector256.MinNative(w16, w24); w24 = Vector256.MaxNative(w16, w24); w16 = x; }
        var w20 = Unsafe.Add(ref t, 20);
        var w28 = Unsafe.Add(ref t, 28);
        { var x = Vector256.MinNative(w20, w28); w28 = Vector256.MaxNative(w20, w28); w20 = x; }
        { var x = Vector256.MinNative(w20, w24); w24 = Vector256.MaxNative(w20, w24); w20 = x; }
        var w18 = Unsafe.Add(ref t, 18);
        var w26 = Unsafe.Add(ref t, 26);
        { var x = Vector256.MinNative(w18, w26); w26 = Vector256.MaxNative(w18, w26); w18 = x; }
        var w22 = Unsafe.Add(ref t, 22);
        var w30 = Unsafe.Add(ref t, 30);
        { var x = Vector256.MinNative(w22, w30); w30 = Vector256.MaxNative(w22, w30); w22 = x; }
        { var x = Vector256.MinNative(w22, w26); w26 = Vector256.MaxNative(w22, w26); w22 = x; }
        { var x = Vector256.MinNative(w18, w20); w20 = Vector256.MaxNative(w18, w20); w18 = x; }
        { var x = Vector256.MinNative(w22, w24); w24 = Vector256.MaxNative(w22, w24); w22 = x; }
        { var x = Vector256.MinNative(w26, w28); w28 = Vector256.MaxNative(w26, w28); w26 = x; }
        var w17 = Unsafe.Add(ref t, 17);
        var w25 = Unsafe.Add(ref t, 25);
        { var x = Vector256.MinNative(w17, w25); w25 = Vector256.MaxNative(w17, w25); w17 = x; }
        var w21 = Unsafe.Add(ref t, 21);
        var w29 = Unsafe.Add(ref t, 29);
        { var x = Vector256.MinNative(w21, w29); w29 = Vector256.MaxNative(w21, w29); w21 = x; }
        { var x = Vector256.MinNative(w21, w25); w25 = Vector256.MaxNative(w21, w25); w21 = x; }
        var w19 = Unsafe.Add(ref t, 19);
        var w27 = Unsafe.Add(ref t, 27);
        { var x = Vector256.MinNative(w19, w27); w27 = Vector256.MaxNative(w19, w27); w19 = x; }
        var w23 = Unsafe.Add(ref t, 23);
        var w31 = Unsafe.Add(ref t, 31);
        { var x = Vector256.MinNative(w23, w31); w31 = Vector256.MaxNative(w23, w31); w23 = x; }
        { var x = Vector256.MinNative(w23, w27); w27 = Vector256.MaxNative(w23, w27); w23 = x; }
        { var x = Vector256.MinNative(w19, w21); w21 = Vector256.MaxNative(w19, w21); w19 = x; }
        { var x = Vector256.MinNative(w23, w25); w25 = Vector256.MaxNative(w23, w25); w23 = x; }
        { var x = Vector256.MinNative(w27, w29); w29 = Vector256.MaxNative(w27, w29); w27 = x; }
        { var x = Vector256.MinNative(w17, w18); w18 = Vector256.MaxNative(w17, w18); w17 = x; }
        { var x = Vector256.MinNative(w19, w20); w20 = Vector256.MaxNative(w19, w20); w19 = x; }
        { var x = Vector256.MinNative(w21, w22); w22 = Vector256.MaxNative(w21, w22); w21 = x; }
        { var x = Vector256.MinNative(w23, w24); w24 = Vector256.MaxNative(w23, w24); w23 = x; }
        { var x = Vector256.MinNative(w25, w26); w26 = Vector256.MaxNative(w25, w26); w25 = x; }
        { var x = Vector256.MinNative(w27, w28); w28 = Vector256.MaxNative(w27, w28); w27 = x; }
        { var x = Vector256.MinNative(w29, w30); w30 = Vector256.MaxNative(w29, w30); w29 = x; }
        w16 = Vector256.MaxNative(w0, w16);
        w8 = Vector256.MinNative(w8, w24);
        w16 = Vector256.MaxNative(w8, w16);
        w20 = Vector256.MaxNative(w4, w20);
        w12 = Vector256.MinNative(w12, w28);
        w12 = Vector256.MinNative(w12, w20);
        w16 = Vector256.MaxNative(w12, w16);
        w18 = Vector256.MaxNative(w2, w18);
        w10 = Vector256.MinNative(w10, w26);
        w18 = Vector256.MaxNative(w10, w18);
        w22 = Vector256.MaxNative(w6, w22);
        w14 = Vector256.MinNative(w14, w30);
        w14 = Vector256.MinNative(w14, w22);
        w14 = Vector256.MinNative(w14, w18);
        w16 = Vector256.MaxNative(w14, w16);
        w17 = Vector256.MaxNative(w1, w17);
        w9 = Vector256.MinNative(w9, w25);
        w17 = Vector256.MaxNative(w9, w17);
        w21 = Vector256.MaxNative(w5, w21);
        w13 = Vector256.MinNative(w13, w29);
        w13 = Vector256.MinNative(w13, w21);
        w17 = Vector256.MaxNative(w13, w17);
        w19 = Vector256.MaxNative(w3, w19);
        w11 = Vector256.MinNative(w11, w27);
        w19 = Vector256.MaxNative(w11, w19);
        w23 = Vector256.MaxNative(w7, w23);
        w15 = Vector256.MinNative(w15, w31);
        w15 = Vector256.MinNative(w15, w23);
        w15 = Vector256.MinNative(w15, w19);
        w15 = Vector256.MinNative(w15, w17);
        { var x = Vector256.MinNative(w15, w16); w16 = Vector256.MaxNative(w15, w16); w15 = x; }
        low = w15;
        high = w16;
    }

    /// <summary>The middle pair (ranks 31 and 32) of the 64 keys at <paramref name="t"/>, eight sorted runs of eight.</summary>
    public static void Middle64(ref Vector256<int> t, out Vector256<int> low, out Vector256<int> high)
    {
        var w0 = t;
        var w8 = Unsafe.Add(ref t, 8);
        { var x = Vector256.MinNative(w0, w8); w8 = Vector256.MaxNative(w0, w8); w0 = x; }
        var w4 = Unsafe.Add(ref t, 4);
        var w12 = Unsafe.Add(ref t, 12);
        { var x = Vector256.MinNative(w4, w12); w12 = Vector256.MaxNative(w4, w12); w4 = x; }
        { var x = Vector256.MinNative(w4, w8); w8 = Vector256.MaxNative(w4, w8); w4 = x; }
        var w2 = Unsafe.Add(ref t, 2);
        var w10 = Unsafe.Add(ref t, 10);
        { var x = Vector256.MinNative(w2, w10); w10 = Vector256.MaxNative(w2, w10); w2 = x; }
        var w6 = Unsafe.Add(ref t, 6);
        var w14 = Unsafe.Add(ref t, 14);
        { var x = Vector256.MinNative(w6, w14); w14 = Vector256.MaxNative(w6, w14); w6 = x; }
        { var x = Vector256.MinNative(w6, w10); w10 = Vector256.MaxNative(w6, w10); w6 = x; }
        { var x = Vector256.MinNative(w2, w4); w4 = Vector256.MaxNative(w2, w4); w2 = x; }
        { var x = Vector256.MinNative(w6, w8); w8 = Vector256.MaxNative(w6, w8); w6 = x; }
        { var x = Vector256.MinNative(w10, w12); w12 = Vector256.MaxNative(w10, w12); w10 = x; }
        var w1 = Unsafe.Add(ref t, 1);
        var w9 = Unsafe.Add(ref t, 9);
        { var x = Vector256.MinNative(w1, w9); w9 = Vector256.MaxNative(w1, w9); w1 = x; }
        var w5 = Unsafe.Add(ref t, 5);
        var w13 = Unsafe.Add(ref t, 13);
        { var x = Vector256.MinNative(w5, w13); w13 = Vector256.MaxNative(w5, w13); w5 = x; }
        { var x = Vector256.MinNative(w5, w9); w9 = Vector256.MaxNative(w5, w9); w5 = x; }
        var w3 = Unsafe.Add(ref t, 3);
        var w11 = Unsafe.Add(ref t, 11);
        { var x = Vector256.MinNative(w3, w11); w11 = Vector256.MaxNative(w3, w11); w3 = x; }
        var w7 = Unsafe.Add(ref t, 7);
        var w15 = Unsafe.Add(ref t, 15);
        { var x = Vector256.MinNative(w7, w15); w15 = Vector256.MaxNative(w7, w15); w7 = x; }
        { var x = Vector256.MinNative(w7, w11); w11 = Vector256.MaxNative(w7, w11); w7 = x; }
        { var x = Vector256.MinNative(w3, w5); w5 = Vector256.MaxNative(w3, w5); w3 = x; }
        { var x = Vector256.MinNative(w7, w9); w9 = Vector256.MaxNative(w7, w9); w7 = x; }
        { var x = Vector256.MinNative(w11, w13); w13 = Vector256.MaxNative(w11, w13); w11 = x; }
        { var x = Vector256.MinNative(w1, w2); w2 = Vector256.MaxNative(w1, w2); w1 = x; }
        { var x = Vector256.MinNative(w3, w4); w4 = Vector256.MaxNative(w3, w4); w3 = x; }
        { var x = Vector256.MinNative(w5, w6); w6 = Vector256.MaxNative(w5, w6); w5 = x; }
        { var x = Vector256.MinNative(w7, w8); w8 = Vector256.MaxNative(w7, w8); w7 = x; }
        { var x = Vector256.MinNative(w9, w10); w10 = Vector256.MaxNative(w9, w10); w9 = x; }
        { var x = Vector256.MinNative(w11, w12); w12 = Vector256.MaxNative(w11, w12); w11 = x; }
        { var x = Vector256.MinNative(w13, w14); w14 = Vector256.MaxNative(w13, w14); w13 = x; }
        var w16 = Unsafe.Add(ref t, 16);
        var w24 = Unsafe.Add(ref t, 24);
        { var x = Vector256.MinNative(w16, w24); w24 = Vector256.MaxNative(w16, w24); w16 = x; }
        var w20 = Unsafe.Add(ref t, 20);
        var w28 = Unsafe.Add(ref t, 28);
        { var x = Vector256.MinNative(w20, w28); w28 = Vector256.MaxNative(w20, w28); w20 = x; }
        { var x = Vector256.MinNative(w20, w24); w24 = Vector256.MaxNative(w20, w24); w20 = x; }
        var w18 = Unsafe.Add(ref t, 18);
        var w26 = Unsafe.Add(ref t, 26);
        { var x = Vector256.MinNative(w18, w26); w26 = Vector256.MaxNative(w18, w26); w18 = x; }
        var w22 = Unsafe.Add(ref t, 22);
        var w30 = Unsafe.Add(ref t, 30);
        { var x = Vector256.MinNative(w22, w30); w30 = Vector256.MaxNative(w22, w30); w22 = x; }
        { var x = Vector256.MinNative(w22, w26); w26 = Vector256.MaxNative(w22, w26); w22 = x; }
        { var x = Vector256.MinNative(w18, w20); w20 = Vector256.MaxNative(w18, w20); w18 = x; }
        { var x = Vector256.MinNative(w22, w24); w24 = Vector256.MaxNative(w22, w24); w22 = x; }
        { var x = Vector256.MinNative(w26, w28); w28 = Vector256.MaxNative(w26, w28); w26 = x; }
        var w17 = Unsafe.Add(ref t, 17);
        var w25 = Unsafe.Add(ref t, 25);
        { var x = Vector256.MinNative(w17, w25); w25 = Vector256.MaxNative(w17, w25); w17 = x; }
        var w21 = Unsafe.Add(ref t, 21);
        var w29 = Unsafe.Add(ref t, 29);
        { var x = Vector256.MinNative(w21, w29); w29 = Vector256.MaxNative(w21, w29); w21 = x; }
        { var x = Vector256.MinNative(w21, w25); w25 = Vector256.MaxNative(w21, w25); w21 = x; }
        var w19 = Unsafe.Add(ref t, 19);
        var w27 = Unsafe.Add(ref t, 27);
        { var x = Vector256.MinNative(w19, w27); w27 = Vector256.MaxNative(w19, w27); w19 = x; }
        var w23 = Unsafe.Add(ref t, 23);
        var w31 = Unsafe.Add(ref t, 31);
        { var x = Vector256.MinNative(w23, w31); w31 = Vector256.MaxNative(w23, w31); w23 = x; }
        { var x = Vector256.MinNative(w23, w27); w27 = Vector256.MaxNative(w23, w27); w23 = x; }
        { var x = Vector256.MinNative(w19, w21); w21 = Vector256.MaxNative(w19, w21); w19 = x; }
        { var x = Vector256.MinNative(w23, w25); w25 = Vector256.MaxNative(w23, w25); w23 = x; }
        { var x = Vector256.MinNative(w27, w29); w29 = Vector256.MaxNative(w27, w29); w27 = x; }
        { var x = Vector256.MinNative(w17, w18); w18 = Vector256.MaxNative(w17, w18); w17 = x; }
        { var x = Vector256.MinNative(w19, w20); w20 = Vector256.MaxNative(w19, w20); w19 = x; }
        { var x = Vector256.MinNative(w21, w22); w22 = Vector256.MaxNative(w21, w22); w21 = x; }
        { var x = Vector256.MinNative(w23, w24); w24 = Vector256.MaxNative(w23, w24); w23 = x; }
        { var x = Vector256.MinNative(w25, w26); w26 = Vector256.MaxNative(w25, w26); w25 = x; }
        { var x = Vector256.MinNative(w27, w28); w28 = Vector256.MaxNative(w27, w28); w27 = x; }
        { var x = Vector256.MinNative(w29, w30); w30 = Vector256.MaxNative(w29, w30); w29 = x; }
        { var x = Vector256.MinNative(w0, w16); w16 = Vector256.MaxNative(w0, w16); w0 = x; }
        { var x = Vector256.MinNative(w8, w24); w24 = Vector256.MaxNative(w8, w24); w8 = x; }
        { var x = Vector256.MinNative(w8, w16); w16 = Vector256.MaxNative(w8, w16); w8 = x; }
        { var x = Vector256.MinNative(w4, w20); w20 = Vector256.MaxNative(w4, w20); w4 = x; }
        { var x = Vector256.MinNative(w12, w28); w28 = Vector256.MaxNative(w12, w28); w12 = x; }
        { var x = Vector256.MinNative(w12, w20); w20 = Vector256.MaxNative(w12, w20); w12 = x; }
        { var x = Vector256.MinNative(w4, w8); w8 = Vector256.MaxNative(w4, w8); w4 = x; }
        { var x = Vector256.MinNative(w12, w16); w16 = Vector256.MaxNative(w12, w16); w12 = x; }
        { var x = Vector256.MinNative(w20, w24); w24 = Vector256.MaxNative(w20, w24); w20 = x; }
        { var x = Vector256.MinNative(w2, w18); w18 = Vector256.MaxNative(w2, w18); w2 = x; }
        { var x = Vector256.MinNative(w10, w26); w26 = Vector256.MaxNative(w10, w26); w10 = x; }
        { var x = Vector256.MinNative(w10, w18); w18 = Vector256.MaxNative(w10, w18); w10 = x; }
        { var x = Vector256.MinNative(w6, w22); w22 = Vector256.MaxNative(w6, w22); w6 = x; }
        { var x = Vector256.MinNative(w14, w30); w30 = Vector256.MaxNative(w14, w30); w14 = x; }
        { var x = Vector256.MinNative(w14, w22); w22 = Vector256.MaxNative(w14, w22); w14 = x; }
        { var x = Vector256.MinNative(w6, w10); w10 = Vector256.MaxNative(w6, w10); w6 = x; }
        { var x = Vector256.MinNative(w14, w18); w18 = Vector256.MaxNative(w14, w18); w14 = x; }
        { var x = Vector256.MinNative(w22, w26); w26 = Vector256.MaxNative(w22, w26); w22 = x; }
        { var x = Vector256.MinNative(w2, w4); w4 = Vector256.MaxNative(w2, w4); w2 = x; }
        { var x = Vector256.MinNative(w6, w8); w8 = Vector256.MaxNative(w6, w8); w6 = x; }
        { var x = Vector256.MinNative(w10, w12); w12 = Vector256.MaxNative(w10, w12); w10 = x; }
        { var x = Vector256.MinNative(w14, w16); w16 = Vector256.MaxNative(w14, w16); w14 = x; }
        { var x = Vector256.MinNative(w18, w20); w20 = Vector256.MaxNative(w18, w20); w18 = x; }
        { var x = Vector256.MinNative(w22, w24); w24 = Vector256.MaxNative(w22, w24); w22 = x; }
        { var x = Vector256.MinNative(w26, w28); w28 = Vector256.MaxNative(w26, w28); w26 = x; }
        { var x = Vector256.MinNative(w1, w17); w17 = Vector256.MaxNative(w1, w17); w1 = x; }
        { var x = Vector256.MinNative(w9, w25); w25 = Vector256.MaxNative(w9, w25); w9 = x; }
        { var x = Vector256.MinNative(w9, w17); w17 = Vector256.MaxNative(w9, w17); w9 = x; }
        { var x = Vector256.MinNative(w5, w21); w21 = Vector256.MaxNative(w5, w21); w5 = x; }
        { var x = Vector256.MinNative(w13, w29); w29 = Vector256.MaxNative(w13, w29); w13 = x; }
        { var x = Vector256.MinNative(w13, w21); w21 = Vector256.MaxNative(w13, w21); w13 = x; }
        { var x = Vector256.MinNative(w5, w9); w9 = Vector256.MaxNative(w5, w9); w5 = x; }
        { var x = Vector256.MinNative(w13, w17); w17 = Vector256.MaxNative(w13, w17); w13 = x; }
        { var x = Vector256.MinNative(w21, w25); w25 = Vector256.MaxNative(w21, w25); w21 = x; }
        { var x = Vector256.MinNative(w3, w19); w19 = Vector256.MaxNative(w3, w19); w3 = x; }
        { var x = Vector256.MinNative(w11, w27); w27 = Vector256.MaxNative(w11, w27); w11 = x; }
        { var x = Vector256.MinNative(w11, w19); w19 = Vector256.MaxNative(w11, w19); w11 = x; }
        { var x = Vector256.MinNative(w7, w23); w23 = Vector256.MaxNative(w7, w23); w7 = x; }
        { var x = Vector256.MinNative(w15, w31); w31 = Vector256.MaxNative(w15, w31); w15 = x; }
        { var x = Vector256.MinNative(w15, w23); w23 = Vector256.MaxNative(w15, w23); w15 = x; }
        { var x = Vector256.MinNative(w7, w11); w11 = Vector256.MaxNative(w7, w11); w7 = x; }
        { var x = Vector256.MinNative(w15, w19); w19 = Vector256.MaxNative(w15, w19); w15 = x; }
        { var x = Vector256.MinNative(w23, w27); w27 = Vector256.MaxNative(w23, w27); w23 = x; }
        { var x = Vector256.MinNative(w3, w5); w5 = Vector256.MaxNative(w3, w5); w3 = x; }
        { var x = Vector256.MinNative(w7, w9); w9 = Vector256.MaxNative(w7, w9); w7 = x; }
        { var x = Vector256.MinNative(w11, w13); w13 = Vector256.MaxNative(w11, w13); w11 = x; }
        { var x = Vector256.MinNative(w15, w17); w17 = Vector256.MaxNative(w15, w17); w15 = x; }
        { var x = Vector256.MinNative(w19, w21); w21 = Vector256.MaxNative(w19, w21); w19 = x; }
        { var x = Vector256.MinNative(w23, w25); w25 = Vector256.MaxNative(w23, w25); w23 = x; }
        { var x = Vector256.MinNative(w27, w29); w29 = Vector256.MaxNative(w27, w29); w27 = x; }
        { var x = Vector256.MinNative(w1, w2); w2 = Vector256.MaxNative(w1, w2); w1 = x; }
        { var x = Vector256.MinNative(w3, w4); w4 = Vector256.MaxNative(w3, w4); w3 = x; }
        { var x = Vector256.MinNative(w5, w6); w6 = Vector256.MaxNative(w5, w6); w5 = x; }
        { var x = Vector256.MinNative(w7, w8); w8 = Vector256.MaxNative(w7, w8); w7 = x; }
        { var x = Vector256.MinNative(w9, w10); w10 = Vector256.MaxNative(w9, w10); w9 = x; }
        { var x = Vector256.MinNative(w11, w12); w12 = Vector256.MaxNative(w11, w12); w11 = x; }
        { var x = Vector256.MinNative(w13, w14); w14 = Vector256.MaxNative(w13, w14); w13 = x; }
        { var x = Vector256.MinNative(w15, w16); w16 = Vector256.MaxNative(w15, w16); w15 = x; }
        { var x = Vector256.MinNative(w17, w18); w18 = Vector256.MaxNative(w17, w18); w17 = x; }
        { var x = Vector256.MinNative(w19, w20); w20 = Vector256.MaxNative(w19, w20); w19 = x; }
        { var x = Vector256.MinNative(w21, w22); w22 = Vector256.MaxNative(w21, w22); w21 = x; }
        { var x = Vector256.MinNative(w23, w24); w24 = Vector256.MaxNative(w23, w24); w23 = x; }
        { var x = Vector256.MinNative(w25, w26); w26 = Vector256.MaxNative(w25, w26); w25 = x; }
        { var x = Vector256.MinNative(w27, w28); w28 = Vector256.MaxNative(w27, w28); w27 = x; }
        { var x = Vector256.MinNative(w29, w30); w30 = Vector256.MaxNative(w29, w30); w29 = x; }
        var w32 = Unsafe.Add(ref t, 32);
        var w40 = Unsafe.Add(ref t, 40);
        { var x = Vector256.MinNative(w32, w40); w40 = Vector256.MaxNative(w32, w40); w32 = x; }
        var w36 = Unsafe.Add(ref t, 36);
        var w44 = Unsafe.Add(ref t, 44);
        { var x = Vector256.MinNative(w36, w44); w44 = Vector256.MaxNative(w36, w44); w36 = x; }
        { var x = Vector256.MinNative(w36, w40); w40 = Vector256.MaxNative(w36, w40); w36 = x; }
        var w34 = Unsafe.Add(ref t, 34);
        var w42 = Unsafe.Add(ref t, 42);
        { var x = Vector256.MinNative(w34, w42); w42 = Vector256.MaxNative(w34, w42); w34 = x; }
        var w38 = Unsafe.Add(ref t, 38);
        var w46 = Unsafe.Add(ref t, 46);
        { var x = Vector256.MinNative(w38, w46); w46 = Vector256.MaxNative(w38, w46); w38 = x; }
        { var x = Vector256.MinNative(w38, w42); w42 = Vector256.MaxNative(w38, w42); w38 = x; }
        { var x = Vector256.MinNative(w34, w36); w36 = Vector256.MaxNative(w34, w36); w34 = x; }
        { var x = Vector256.MinNative(w38, w40); w40 = Vector256.MaxNative(w38, w40); w38 = x; }
        { var x = Vector256.MinNative(w42, w44); w44 = Vector256.MaxNative(w42, w44); w42 = x; }
        var w33 = Unsafe.Add(ref t, 33);
        var w41 = Unsafe.Add(ref t, 41);
        { var x = Vector256.MinNative(w33, w41); w41 = Vector256.MaxNative(w33, w41); w33 = x; }
        var w37 = Unsafe.Add(ref t, 37);
        var w45 = Unsafe.Add(ref t, 45);
        { var x = Vector256.MinNative(w37, w45); w45 = Vector256.MaxNative(w37, w45); w37 = x; }
        { var x = Vector256.MinNative(w37, w41); w41 = Vector256.MaxNative(w37, w41); w37 = x; }
        var w35 = Unsafe.Add(ref t, 35);
        var w43 = Unsafe.Add(ref t, 43);
        { var x = Vector256.MinNative(w35, w43); w43 = Vector256.MaxNative(w35, w43); w35 = x; }
        var w39 = Unsafe.Add(ref t, 39);
        var w47 = Unsafe.Add(ref t, 47);
        { var x = Vector256.MinNative(w39, w47); w47 = Vector256.MaxNative(w39, w47); w39 = x; }
        { var x = Vector256.MinNative(w39, w43); w43 = Vector256.MaxNative(w39, w43); w39 = x; }
        { var x = Vector256.MinNative(w35, w37); w37 = Vector256.MaxNative(w35, w37); w35 = x; }
        { var x = Vector256.MinNative(w39, w41); w41 = Vector256.MaxNative(w39, w41); w39 = x; }
        { var x = Vector256.MinNative(w43, w45); w45 = Vector256.MaxNative(w43, w45); w43 = x; }
        { var x = Vector256.MinNative(w33, w34); w34 = Vector256.MaxNative(w33, w34); w33 = x; }
        { var x = Vector256.MinNative(w35, w36); w36 = Vector256.MaxNative(w35, w36); w35 = x; }
        { var x = Vector256.MinNative(w37, w38); w38 = Vector256.MaxNative(w37, w38); w37 = x; }
        { var x = Vector256.MinNative(w39, w40); w40 = Vector256.MaxNative(w39, w40); w39 = x; }
        { var x = Vector256.MinNative(w41, w42); w42 = Vector256.MaxNative(w41, w42); w41 = x; }
        { var x = Vector256.MinNative(w43, w44); w44 = Vector256.MaxNative(w43, w44); w43 = x; }
        { var x = Vector256.MinNative(w45, w46); w46 = Vector256.MaxNative(w45, w46); w45 = x; }
        var w48 = Unsafe.Add(ref t, 48);
        var w56 = Unsafe.Add(ref t, 56);
        { var x = Vector256.MinNative(w48, w56); w56 = Vector256.MaxNative(w48, w56); w48 = x; }
        var w52 = Unsafe.Add(ref t, 52);
        var w60 = Unsafe.Add(ref t, 60);
        { var x = Vector256.MinNative(w52, w60); w60 = Vector256.MaxNative(w52, w60); w52 = x; }
        { var x = Vector256.MinNative(w52, w56); w56 = Vector256.MaxNative(w52, w56); w52 = x; }
        var w50 = Unsafe.Add(ref t, 50);
        var w58 = Unsafe.Add(ref t, 58);
        { var x = Vector256.MinNative(w50, w58); w58 = Vector256.MaxNative(w50, w58); w50 = x; }
        var w54 = Unsafe.Add(ref t, 54);
        var w62 = Unsafe.Add(ref t, 62);
        { var x = Vector256.MinNative(w54, w62); w62 = Vector256.MaxNative(w54, w62); w54 = x; }
        { var x = Vector256.MinNative(w54, w58); w58 = Vector256.MaxNative(w54, w58); w54 = x; }
        { var x = Vector256.MinNative(w50, w52); w52 = Vector256.MaxNative(w50, w52); w50 = x; }
        { var x = Vector256.MinNative(w54, w56); w56 = Vector256.MaxNative(w54, w56); w54 = x; }
        { var x = Vector256.MinNative(w58, w60); w60 = Vector256.MaxNative(w58, w60); w58 = x; }
        var w49 = Unsafe.Add(ref t, 49);
        var w57 = Unsafe.Add(ref t, 57);
        { var x = Vector256.MinNative(w49, w57); w57 = Vector256.MaxNative(w49, w57); w49 = x; }
        var w53 = Unsafe.Add(ref t, 53);
        var w61 = Unsafe.Add(ref t, 61);
        { var x = Vector256.MinNative(w53, w61); w61 = Vector256.MaxNative(w53, w61); w53 = x; }
        { var x = Vector256.MinNative(w53, w57); w57 = Vector256.MaxNative(w53, w57); w53 = x; }
        var w51 = Unsafe.Add(ref t, 51);
        var w59 = Unsafe.Add(ref t, 59);
        { var x = Vector256.MinNative(w51, w59); w59 = Vector256.MaxNative(w51, w59); w51 = x; }
        var w55 = Unsafe.Add(ref t, 55);
        var w63 = Unsafe.Add(ref t, 63);
        { var x = Vector256.MinNative(w55, w63); w63 = Vector256.MaxNative(w55, w63); w55 = x; }
        { var x = Vector256.MinNative(w55, w59); w59 = Vector256.MaxNative(w55, w59); w55 = x; }
        { var x = Vector256.MinNative(w51, w53); w53 = Vector256.MaxNative(w51, w53); w51 = x; }
        { var x = Vector256.MinNative(w55, w57); w57 = Vector256.MaxNative(w55, w57); w55 = x; }
        { var x = Vector256.MinNative(w59, w61); w61 = Vector256.MaxNative(w59, w61); w59 = x; }
        { var x = Vector256.MinNative(w49, w50); w50 = Vector256.MaxNative(w49, w50); w49 = x; }
        { var x = Vector256.MinNative(w51, w52); w52 = Vector256.MaxNative(w51, w52); w51 = x; }
        { var x = Vector256.MinNative(w53, w54); w54 = Vector256.MaxNative(w53, w54); w53 = x; }
        { var x = Vector256.MinNative(w55, w56); w56 = Vector256.MaxNative(w55, w56); w55 = x; }
        { var x = Vector256.MinNative(w57, w58); w58 = Vector256.MaxNative(w57, w58); w57 = x; }
        { var x = Vector256.MinNative(w59, w60); w60 = Vector256.MaxNative(w59, w60); w59 = x; }
        { var x = Vector256.MinNative(w61, w62); w62 = Vector256.MaxNative(w61, w62); w61 = x; }
        { var x = Vector256.MinNative(w32, w48); w48 = Vector256.MaxNative(w32, w48); w32 = x; }
        { var x = Vector256.MinNative(w40, w56); w56 = Vector256.MaxNative(w40, w56); w40 = x; }
        { var x = Vector256.MinNative(w40, w48); w48 = Vector256.MaxNative(w40, w48); w40 = x; }
        { var x = Vector256.MinNative(w36, w52); w52 = Vector256.MaxNative(w36, w52); w36 = x; }
        { var x = Vector256.MinNative(w44, w60); w60 = Vector256.MaxNative(w44, w60); w44 = x; }
        { var x = Vector256.MinNative(w44, w52); w52 = Vector256.MaxNative(w44, w52); w44 = x; }
        { var x = Vector256.MinNative(w36, w40); w40 = Vector256.MaxNative(w36, w40); w36 = x; }
        { var x = Vector256.MinNative(w44, w48); w48 = Vector256.MaxNative(w44, w48); w44 = x; }
        { var x = Vector256.MinNative(w52, w56); w56 = Vector256.MaxNative(w52, w56); w52 = x; }
        { var x = Vector256.MinNative(w34, w50); w50 = Vector256.MaxNative(w34, w50); w34 = x; }
        { var x = Vector256.MinNative(w42, w58); w58 = Vector256.MaxNative(w42, w58); w42 = x; }
        { var x = Vector256.MinNative(w42, w50); w50 = Vector256.MaxNative(w42, w50); w42 = x; }
        { var x = Vector256.MinNative(w38, w54); w54 = Vector256.MaxNative(w38, w54); w38 = x; }
        { var x = Vector256.MinNative(w46, w62); w62 = Vector256.MaxNative(w46, w62); w46 = x; }
        { var x = Vector256.MinNative(w46, w54); w54 = Vector256.MaxNative(w46, w54); w46 = x; }
        { var x = Vector256.MinNative(w38, w42); w42 = Vector256.MaxNative(w38, w42); w38 = x; }
        { var x = Vector256.MinNative(w46, w50); w50 = Vector256.MaxNative(w46, w50); w46 = x; }
        { var x = Vector256.MinNative(w54, w58); w58 = Vector256.MaxNative(w54, w58); w54 = x; }
        { var x = Vector256.MinNative(w34, w36); w36 = Vector256.MaxNative(w34, w36); w34 = x; }
        { var x = Vector256.MinNative(w38, w40); w40 = Vector256.MaxNative(w38, w40); w38 = x; }
        { var x = Vector256.MinNative(w42, w44); w44 = Vector256.MaxNative(w42, w44); w42 = x; }
        { var x = Vector256.MinNative(w46, w48); w48 = Vector256.MaxNative(w46, w48); w46 = x; }
        { var x = Vector256.MinNative(w50, w52); w52 = Vector256.MaxNative(w50, w52); w50 = x; }
        { var x = Vector256.MinNative(w54, w56); w56 = Vector256.MaxNative(w54, w56); w54 = x; }
        { var x = Vector256.MinNative(w58, w60); w60 = Vector256.MaxNative(w58, w60); w58 = x; }
        { var x = Vector256.MinNative(w33, w49); w49 = Vector256.MaxNative(w33, w49); w33 = x; }
        { var x = Vector256.MinNative(w41, w57); w57 = Vector256.MaxNative(w41, w57); w41 = x; }
        { var x = Vector256.MinNative(w41, w49); w49 = Vector256.MaxNative(w41, w49); w41 = x; }
        { var x = Vector256.MinNative(w37, w53); w53 = Vector256.MaxNative(w37, w53); w37 = x; }
        { var x = Vector256.MinNative(w45, w61); w61 = Vector256.MaxNative(w45, w61); w45 = x; }
        { var x = Vector256.MinNative(w45, w53); w53 = Vector256.MaxNative(w45, w53); w45 = x; }
        { var x = Vector256.MinNative(w37, w41); w41 = Vector256.MaxNative(w37, w41); w37 = x; }
        { var x = Vector256.MinNative(w45, w49); w49 = Vector256.MaxNative(w45, w49); w45 = x; }
        { var x = Vector256.MinNative(w53, w57); w57 = Vector256.MaxNative(w53, w57); w53 = x; }
        { var x = Vector256.MinNative(w35, w51); w51 = Vector256.MaxNative(w35, w51); w35 = x; }
        { var x = Vector256.MinNative(w43, w59); w59 = Vector256.MaxNative(w43, w59); w43 = x; }
        { var x = Vector256.MinNative(w43, w51); w51 = Vector256.MaxNative(w43, w51); w43 = x; }
        { var x = Vector256.MinNative(w39, w55); w55 = Vector256.MaxNative(w39, w55); w39 = x; }
        { var x = Vector256.MinNative(w47, w63); w63 = Vector256.MaxNative(w47, w63); w47 = x; }
        { var x = Vector256.MinNative(w47, w55); w55 = Vector256.MaxNative(w47, w55); w47 = x; }
        { var x = Vector256.MinNative(w39, w43); w43 = Vector256.MaxNative(w39, w43); w39 = x; }
        { var x = Vector256.MinNative(w47, w51); w51 = Vector256.MaxNative(w47, w51); w47 = x; }
        { var x = Vector256.MinNative(w55, w59); w59 = Vector256.MaxNative(w55, w59); w55 = x; }
        { var x = Vector256.MinNative(w35, w37); w37 = Vector256.MaxNative(w35, w37); w35 = x; }
        { var x = Vector256.MinNative(w39, w41); w41 = Vector256.MaxNative(w39, w41); w39 = x; }
        { var x = Vector256.MinNative(w43, w45); w45 = Vector256.MaxNative(w43, w45); w43 = x; }
        { var x = Vector256.MinNative(w47, w49); w49 = Vector256.MaxNative(w47, w49); w47 = x; }
        { var x = Vector256.MinNative(w51, w53); w53 = Vector256.MaxNative(w51, w53); w51 = x; }
        { var x = Vector256.MinNative(w55, w57); w57 = Vector256.MaxNative(w55, w57); w55 = x; }
        { var x = Vector256.MinNative(w59, w61); w61 = Vector256.MaxNative(w59, w61); w59 = x; }
        { var x = Vector256.MinNative(w33, w34); w34 = Vector256.MaxNative(w33, w34); w33 = x; }
        { var x = Vector256.MinNative(w35, w36); w36 = Vector256.MaxNative(w35, w36); w35 = x; }
        { var x = Vector256.MinNative(w37, w38); w38 = Vector256.MaxNative(w37, w38); w37 = x; }
        { var x = Vector256.MinNative(w39, w40); w40 = Vector256.MaxNative(w39, w40); w39 = x; }
        { var x = Vector256.MinNative(w41, w42); w42 = Vector256.MaxNative(w41, w42); w41 = x; }
        { var x = Vector256.MinNative(w43, w44); w44 = Vector256.MaxNative(w43, w44); w43 = x; }
        { var x = Vector256.MinNative(w45, w46); w46 = Vector256.MaxNative(w45, w46); w45 = x; }
        { var x = Vector256.MinNative(w47, w48); w48 = Vector256.MaxNative(w47, w48); w47 = x; }
        { var x = Vector256.MinNative(w49, w50); w50 = Vector256.MaxNative(w49, w50); w49 = x; }
        { var x = Vector256.MinNative(w51, w52); w52 = Vector256.MaxNative(w51, w52); w51 = x; }
        { var x = Vector256.MinNative(w53, w54); w54 = Vector256.MaxNative(w53, w54); w53 = x; }
        { var x = Vector256.MinNative(w55, w56); w56 = Vector256.MaxNative(w55, w56); w55 = x; }
        { var x = Vector256.MinNative(w57, w58); w58 = Vector256.MaxNative(w57, w58); w57 = x; }
        { var x = Vector256.MinNative(w59, w60); w60 = Vector256.MaxNative(w59, w60); w59 = x; }
        { var x = Vector256.MinNative(w61, w62); w62 = Vector256.MaxNative(w61, w62); w61 = x; }
        w32 = Vector256.MaxNative(w0, w32);
        w16 = Vector256.MinNative(w16, w48);
        w32 = Vector256.MaxNative(w16, w32);
        w40 = Vector256.MaxNative(w8, w40);
        w24 = Vector256.MinNative(w24, w56);
        w24 = Vector256.MinNative(w24, w40);
        w32 = Vector256.MaxNative(w24, w32);
        w36 = Vector256.MaxNative(w4, w36);
        w20 = Vector256.MinNative(w20, w52);
        w36 = Vector256.MaxNative(w20, w36);
        w44 = Vector256.MaxNative(w12, w44);
        w28 = Vector256.MinNative(w28, w60);
        w28 = Vector256.MinNative(w28, w44);
        w28 = Vector256.MinNative(w28, w36);
        w32 = Vector256.MaxNative(w28, w32);
        w34 = Vector256.MaxNative(w2, w34);
        w18 = Vector256.MinNative(w18, w50);
        w34 = Vector256.MaxNative(w18, w34);
        w42 = Vector256.MaxNative(w10, w42);
        w26 = Vector256.MinNative(w26, w58);
        w26 = Vector256.MinNative(w26, w42);
        w34 = Vector256.MaxNative(w26, w34);
        w38 = Vector256.MaxNative(w6, w38);
        w22 = Vector256.MinNative(w22, w54);
        w38 = Vector256.MaxNative(w22, w38);
        w46 = Vector256.MaxNative(w14, w46);
        w30 = Vector256.MinNative(w30, w62);
        w30 = Vector256.MinNative(w30, w46);
        w30 = Vector256.MinNative(w30, w38);
        w30 = Vector256.MinNative(w30, w34);
        w32 = Vector256.MaxNative(w30, w32);
        w33 = Vector256.MaxNative(w1, w33);
        w17 = Vector256.MinNative(w17, w49);
        w33 = Vector256.MaxNative(w17, w33);
        w41 = Vector256.MaxNative(w9, w41);
        w25 = Vector256.MinNative(w25, w57);
        w25 = Vector256.MinNative(w25, w41);
        w33 = Vector256.MaxNative(w25, w33);
        w37 = Vector256.MaxNative(w5, w37);
        w21 = Vector256.MinNative(w21, w53);
        w37 = Vector256.MaxNative(w21, w37);
        w45 = Vector256.MaxNative(w13, w45);
        w29 = Vector256.MinNative(w29, w61);
        w29 = Vector256.MinNative(w29, w45);
        w29 = Vector256.MinNative(w29, w37);
        w33 = Vector256.MaxNative(w29, w33);
        w35 = Vector256.MaxNative(w3, w35);
        w19 = Vector256.MinNative(w19, w51);
        w35 = Vector256.MaxNative(w19, w35);
        w43 = Vector256.MaxNative(w11, w43);
        w27 = Vector256.MinNative(w27, w59);
        w27 = Vector256.MinNative(w27, w43);
        w35 = Vector256.MaxNative(w27, w35);
        w39 = Vector256.MaxNative(w7, w39);
        w23 = Vector256.MinNative(w23, w55);
        w39 = Vector256.MaxNative(w23, w39);
        w47 = Vector256.MaxNative(w15, w47);
        w31 = Vector256.MinNative(w31, w63);
        w31 = Vector256.MinNative(w31, w47);
        w31 = Vector256.MinNative(w31, w39);
        w31 = Vector256.MinNative(w31, w35);
        w31 = Vector256.MinNative(w31, w33);
        { var x = Vector256.MinNative(w31, w32); w32 = Vector256.MaxNative(w31, w32); w31 = x; }
        low = w31;
        high = w32;
    }
}
