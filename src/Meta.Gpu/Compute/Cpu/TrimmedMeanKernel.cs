using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The trimmed mean over unmasked rows by selection, eight columns per Vector256, or sixteen per Vector512 in the
/// streamed selection pass where the hardware has AVX-512 (a row-major batch puts one row of consecutive columns
/// in one register, so no shuffles are needed).
/// </summary>
/// <remarks>
/// Pass 1 keeps, per column, the k+1 smallest and the k+1 largest values (the two lists), which give the
/// thresholds lo (the (k+1)-th smallest) and hi (the (k+1)-th largest). Pass 2 sums p*(x-c) and p over the
/// cells between them, c their midpoint. When exactly k cells lie on each side, no tie straddles a trim boundary
/// and the kept set is exactly sorted positions k..n-k-1 whatever the row order, so the result equals the
/// reference's. Where the thresholds are one value, so is every kept cell (<see cref="OneKeptValue"/>); where a
/// value ties across a boundary (common with quantised or frozen weights), a float64 pass keeps the equal cells the
/// rows decide (<see cref="TiedKeptSum"/>); a non-finite cell, which makes the sums NaN, sends the column to the
/// exact (value, row) path. The sums are float32 over each group of eight rows:
/// a column whose kept values spread so far beyond their mean that this could miss §13's tolerance
/// (<see cref="SumPrecision"/>) is summed again in float64 (streamed form) or on the exact path.
/// With vectors (<see cref="PortableVector256"/>), k+1 &lt;= 32 (trim_alpha 0.1 up to 329 rows) and at least twice the lists' length in rows, both
/// passes stream eight rows at a time over blocks of columns (<see cref="RunGroups{TLists, TKeys, TLanes}"/>, whose
/// selection pass runs on Vector512 keys where <see cref="SelectionLanes"/> says so); otherwise 64
/// columns of every row are copied into an L1 tile (<see cref="ColumnTile"/>) and each row is inserted into the
/// lists.
/// </remarks>
internal static class TrimmedMeanKernel
{
    /// <summary>float32's smallest normal number, 2^-126: below it a float32 weight loses relative precision.</summary>
    private const double SmallestNormalFloat = 1.1754943508222875e-38;

    /// <summary>The largest weight total whose float32 mass (each weight and each partial sum rounded) stays finite,
    /// with room to spare below float32's largest, 3.4e38: weights each within float32's range whose total is not
    /// (1e38 for each of 19 rows) made the kept mass infinite, and c + sum / mass gave the centre, a finite value no
    /// check caught. <see cref="CombineJob"/> sends a call whose total passes it to the exact path.</summary>
    internal const double LargestFloatMass = 1e38;

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Run(DomainBatch batch, int[] rows, double[] weights, int k, int c0, int c1, ColumnTarget target, CombineJob exact,
        SelectionLanes lanes = SelectionLanes.Vector256Ints, int blockScale = 1)
    {
        var n = rows.Length;
        // The kept weights are summed as float32 copies, which hold a share to 2^-24 of itself only in float32's
        // normal range: below it (a domain 1e44 times heavier than the rest, balancing off) a share keeps a few bits,
        // and a column whose kept cells all weigh that little came out far from the reference (SumPrecision counts
        // one rounding per weight). Such calls take the exact path, whose weights stay float64.
        foreach (var w in weights)
            if (w > 0 && w < SmallestNormalFloat) return exact.RunExact(c0, c1, target);
        var oneValueDecides = OneValueDecides(weights);
        var width = Vector256<float>.Count;
        var end = c0 + (c1 - c0) / width * width;
        if (!PortableVector256.IsFast) end = c0;
        Span<Vector256<float>> small = stackalloc Vector256<float>[k + 1];
        Span<Vector256<float>> large = stackalloc Vector256<float>[k + 1];
        Span<double> sums = stackalloc double[width];
        // Per-row tables on the stack for the usual N; a very wide round would not fit there.
        var onStack = n <= 1024;
        Span<float> weightsF = onStack ? stackalloc float[n] : new float[n];
        for (var r = 0; r < n; r++) weightsF[r] = (float)weights[r];
        Span<nint> tileOffsets = onStack ? stackalloc nint[n] : new nint[n];
        Span<nint> rowOffsets = onStack ? stackalloc nint[n] : new nint[n];
        for (var r = 0; r < n; r++)
        {
            tileOffsets[r] = (nint)r * ColumnTile.Width;
            rowOffsets[r] = (nint)rows[r] * batch.Stride;
        }
        // The streamed kernel pays a sort and two merges per eight rows and inserts the leftover rows into its
        // lists: with fewer than two lists' worth of rows, the tile's insertion into k + 1 lists costs less.
        var lists = k + 1 == ExtremeLists7.Size ? ExtremeLists7.Size : k + 1 <= ExtremeLists8.Size ? ExtremeLists8.Size
            : k + 1 <= ExtremeLists16.Size ? ExtremeLists16.Size : ExtremeLists32.Size;
        if (k + 1 <= ExtremeLists32.Size && n >= 2 * lists && PortableVector256.IsFast)
        {
            // Sixteen columns a vector where asked (AVX-512), over whole 16-column vectors; eight for the rest.
            var wideEnd = lanes != SelectionLanes.Vector256Ints ? c0 + (end - c0) / Vector512<int>.Count * Vector512<int>.Count : c0;
            var streamed = 0;
            if (wideEnd > c0 && lanes == SelectionLanes.Vector512Floats)
                streamed += Streamed<Vector512<float>, FloatKeyLanes512>(lists, batch, rows, rowOffsets, weights, weightsF, k, c0, wideEnd, target, exact, sums, blockScale);
            else if (wideEnd > c0)
                streamed += Streamed<Vector512<int>, KeyLanes512>(lists, batch, rows, rowOffsets, weights, weightsF, k, c0, wideEnd, target, exact, sums, blockScale);
            if (end > wideEnd)
                streamed += Vector256.IsHardwareAccelerated
                    ? Streamed<Vector256<int>, KeyLanes256>(lists, batch, rows, rowOffsets, weights, weightsF, k, wideEnd, end, target, exact, sums, blockScale)
                    : Streamed<KeyPair128, KeyLanes128Pair>(lists, batch, rows, rowOffsets, weights, weightsF, k, wideEnd, end, target, exact, sums, blockScale);
            return end < c1 ? streamed + exact.RunExact(end, c1, target) : streamed;
        }
        var tile = ColumnTile.ForThread(n);
        var empty = 0;

        RowPrefetch.Columns(batch.Values, rows, batch.Stride, c0, Math.Min(end, c0 + RowPrefetch.Block));
        for (var t = c0; t < end; t += ColumnTile.Width)
        {
            if ((t - c0) % RowPrefetch.Block == 0)
                RowPrefetch.Columns(batch.Values, rows, batch.Stride, t + RowPrefetch.Block, Math.Min(end, t + 2 * RowPrefetch.Block));
            var tileWidth = Math.Min(ColumnTile.Width, end - t);
            tile.Load(batch, rows, t, tileWidth);
            for (var v = 0; v < tileWidth; v += width)
            {
                ref var column = ref Unsafe.Add(ref tile.Start, v);
                Vector256<float> lo, hi;
                switch (k + 1)
                {
                    case 1: (lo, hi) = Extremes<Size1>(ref column, n); break;
                    case 2: (lo, hi) = Extremes<Size2>(ref column, n); break;
                    case 3: (lo, hi) = Extremes<Size3>(ref column, n); break;
                    case 4: (lo, hi) = Extremes<Size4>(ref column, n); break;
                    case 5: (lo, hi) = Extremes<Size5>(ref column, n); break;
                    case 6: (lo, hi) = Extremes<Size6>(ref column, n); break;
                    case 7: (lo, hi) = Extremes<Size7>(ref column, n); break;
                    case 8: (lo, hi) = Extremes<Size8>(ref column, n); break;
                    default: (lo, hi) = Extremes(ref column, n, small, large); break;
                }
                var decided = KeptSum(ref column, tileOffsets, weightsF, k, lo, hi, oneValueDecides, sums);
                if (decided != 0xFF) decided |= TiedKeptSum(ref column, tileOffsets, weights, 0, lo, hi, k, ~decided & 0xFF, sums);
                var c = t + v;
                empty += Write(target, c, decided, sums, exact);
            }
        }
        if (end < c1) empty += exact.RunExact(end, c1, target);
        return empty;
    }

    /// <summary>Pass 2: per lane, sum(p*x) / sum(p) over lo &lt;= x &lt;= hi into <paramref name="sums"/>; returns
    /// the lanes whose kept count is n-2k (the others need the exact path).</summary>
    /// <remarks>
    /// At most k cells lie below lo and at most k above hi, so n-2k kept cells means exactly k on each side: the
    /// kept rows are sorted positions k..n-k-1 whatever order ties take.
    /// Precision (§13 allows float32 where its tolerance holds): the terms are centred on c = (lo + hi) / 2 and
    /// summed in float32 over groups of eight rows, each group's partial added in float64, and the result is
    /// c + sum(p*(x-c)) / sum(p). Every kept |x - c| is at most h = max(hi - c, c - lo), so the rounding error is
    /// at most <see cref="SumPrecision.CentredFloat32"/> times h: a lane where that could reach half of §13's
    /// tolerance is not returned (the exact path redoes it). The kept weight is a sum of positive terms and
    /// stays float32.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint KeptSum(ref float column, ReadOnlySpan<nint> offsets, ReadOnlySpan<float> weightsF, int k,
        Vector256<float> lo, Vector256<float> hi, bool oneValueDecides, Span<double> sums)
    {
        var n = offsets.Length;
        // Every kept |x - c| is at most half, in float32 as in the sums.
        var centre = Midpoint(lo, hi, out var half);
        var sumLo = Vector256<double>.Zero;
        var sumHi = Vector256<double>.Zero;
        var mass = Vector256<float>.Zero;
        var keptCount = Vector256<int>.Zero;
        ref var w32 = ref MemoryMarshal.GetReference(weightsF);
        ref var at = ref MemoryMarshal.GetReference(offsets);
        var r = 0;
        for (; r + 8 <= n; r += 8)
        {
            var x0 = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r + 0)));
            var k0 = Kept(x0, lo, hi);
            var p0 = Vector256.Create(Unsafe.Add(ref w32, r + 0)) & k0;
            var x1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r + 1)));
            var k1 = Kept(x1, lo, hi);
            var p1 = Vector256.Create(Unsafe.Add(ref w32, r + 1)) & k1;
            var x2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r + 2)));
            var k2 = Kept(x2, lo, hi);
            var p2 = Vector256.Create(Unsafe.Add(ref w32, r + 2)) & k2;
            var x3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r + 3)));
            var k3 = Kept(x3, lo, hi);
            var p3 = Vector256.Create(Unsafe.Add(ref w32, r + 3)) & k3;
            var x4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r + 4)));
            var k4 = Kept(x4, lo, hi);
            var p4 = Vector256.Create(Unsafe.Add(ref w32, r + 4)) & k4;
            var x5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r + 5)));
            var k5 = Kept(x5, lo, hi);
            var p5 = Vector256.Create(Unsafe.Add(ref w32, r + 5)) & k5;
            var x6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r + 6)));
            var k6 = Kept(x6, lo, hi);
            var p6 = Vector256.Create(Unsafe.Add(ref w32, r + 6)) & k6;
            var x7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r + 7)));
            var k7 = Kept(x7, lo, hi);
            var p7 = Vector256.Create(Unsafe.Add(ref w32, r + 7)) & k7;
            // Pairwise sums: no long dependency chain through one accumulator.
            var q0 = Vector256.FusedMultiplyAdd(x1 - centre, p1, (x0 - centre) * p0);
            var q1 = Vector256.FusedMultiplyAdd(x3 - centre, p3, (x2 - centre) * p2);
            var q2 = Vector256.FusedMultiplyAdd(x5 - centre, p5, (x4 - centre) * p4);
            var q3 = Vector256.FusedMultiplyAdd(x7 - centre, p7, (x6 - centre) * p6);
            var (gl, gh) = Vector256.Widen((q0 + q1) + (q2 + q3));
            sumLo += gl;
            sumHi += gh;
            mass += ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7));
            keptCount -= (((k0.AsInt32() + k1.AsInt32()) + (k2.AsInt32() + k3.AsInt32())) + ((k4.AsInt32() + k5.AsInt32()) + (k6.AsInt32() + k7.AsInt32())));
        }
        var tail = Vector256<float>.Zero;
        for (; r < n; r++)
        {
            var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref column, Unsafe.Add(ref at, r)));
            var kept = Kept(x, lo, hi);
            var p = Vector256.Create(Unsafe.Add(ref w32, r)) & kept;
            tail = Vector256.FusedMultiplyAdd(x - centre, p, tail);
            mass += p;
            keptCount -= kept.AsInt32();
        }
        var (tl, th) = Vector256.Widen(tail);
        return Decide(centre, half, sumLo + tl, sumHi + th, mass, keptCount, n - 2 * k, n, oneValueDecides, sums);
    }

    /// <summary>Writes eight columns from <paramref name="c"/>: the decided lanes' values, the others through the
    /// exact path; returns how many came out empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Write(ColumnTarget target, int c, uint decided, Span<double> sums, CombineJob exact)
    {
        if (decided == 0xFF)
        {
            target.WriteFinite8(c, Vector256.Create((ReadOnlySpan<double>)sums), Vector256.Create((ReadOnlySpan<double>)sums[4..]));
            return 0;
        }
        var empty = 0;
        for (var lane = 0; lane < Vector256<float>.Count; lane++)
            empty += (decided & (1u << lane)) != 0 ? target.Write(c + lane, sums[lane]) : exact.RunExact(c + lane, c + lane + 1, target);
        return empty;
    }

    /// <summary>Writes c + sum / mass per lane into <paramref name="sums"/>; returns the lanes that kept exactly
    /// <paramref name="keep"/> cells and came out finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint Decide(Vector256<float> centre, Vector256<float> half, Vector256<double> sumLo, Vector256<double> sumHi, Vector256<float> mass,
        Vector256<int> keptCount, int keep, int rows, bool oneValueDecides, Span<double> sums)
    {
        var (ml, mh) = Vector256.Widen(mass);
        var (cl, ch) = Vector256.Widen(centre);
        var resultLo = cl + sumLo / ml;
        var resultHi = ch + sumHi / mh;
        resultLo.CopyTo(sums);
        resultHi.CopyTo(sums[4..]);
        // A non-finite cell anywhere in the column makes its lane's sum NaN (a dropped cell still adds
        // (x - c) * 0, which is NaN for x = NaN or +-inf): such columns go to the exact path, as masked ones do.
        var finite = Vector256.Equals(resultLo - resultLo, Vector256<double>.Zero).ExtractMostSignificantBits() |
            (Vector256.Equals(resultHi - resultHi, Vector256<double>.Zero).ExtractMostSignificantBits() << 4);
        // Kept values spread far wider than their mean: the float32 sums may miss §13's tolerance (the exact path).
        var factor = Vector256.Create(SumPrecision.CentredFloat32(rows));
        var (hl, hh) = Vector256.Widen(half);
        var precise = SumPrecision.HoldingLanes(resultLo, resultHi, hl * factor, hh * factor);
        var decidedCount = Vector256.Equals(keptCount, Vector256.Create(keep)) | (oneValueDecides ? OneKeptValue(half).AsInt32() : Vector256<int>.Zero);
        return decidedCount.ExtractMostSignificantBits() & finite & precise;
    }

    /// <summary>The (k+1)-th smallest and largest value per lane, k+1 = <see cref="ISelectionSize.Size"/>, with
    /// the two lists in registers (the JIT drops the unused levels per instantiation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector256<float> Low, Vector256<float> High) Extremes<TSize>(ref float column, int n)
        where TSize : struct, ISelectionSize
    {
        var size = TSize.Size;
        var inf = Vector256.Create(float.PositiveInfinity);
        var ninf = Vector256.Create(float.NegativeInfinity);
        Vector256<float> s0 = inf, s1 = inf, s2 = inf, s3 = inf, s4 = inf, s5 = inf, s6 = inf, s7 = inf;
        Vector256<float> l0 = ninf, l1 = ninf, l2 = ninf, l3 = ninf, l4 = ninf, l5 = ninf, l6 = ninf, l7 = ninf;
        for (var r = 0; r < n; r++)
        {
            var x = Vector256.LoadUnsafe(ref column, (nuint)(r * ColumnTile.Width));
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

    /// <summary>The first 64-byte boundary in <paramref name="space"/> (which must hold 63 bytes more than the caller
    /// uses).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe T* CacheLineAligned<T>(byte* space) where T : unmanaged => (T*)(((nint)space + 63) & ~(nint)63);

    /// <summary>Most bytes of lists a block of wider than L1-sized blocks keeps on the stack
    /// (<see cref="SelectionBlocks"/>); the L1-sized blocks take at most half of it.</summary>
    private const int MaxListBytes = 64 * 1024;

    /// <summary><see cref="RunGroups{TLists, TKeys, TLanes}"/> with lists of <paramref name="lists"/> keys.</summary>
    private static int Streamed<TKeys, TLanes>(int lists, DomainBatch batch, int[] rows, ReadOnlySpan<nint> rowOffsets, double[] weights,
        ReadOnlySpan<float> weightsF, int k, int c0, int end, ColumnTarget target, CombineJob exact, Span<double> sums, int blockScale)
        where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys> => lists switch
    {
        7 => RunGroups<ExtremeLists7, TKeys, TLanes>(batch, rows, rowOffsets, weights, weightsF, k, c0, end, target, exact, sums, blockScale),
        8 => RunGroups<ExtremeLists8, TKeys, TLanes>(batch, rows, rowOffsets, weights, weightsF, k, c0, end, target, exact, sums, blockScale),
        16 => RunGroups<ExtremeLists16, TKeys, TLanes>(batch, rows, rowOffsets, weights, weightsF, k, c0, end, target, exact, sums, blockScale),
        _ => RunGroups<ExtremeLists32, TKeys, TLanes>(batch, rows, rowOffsets, weights, weightsF, k, c0, end, target, exact, sums, blockScale),
    };

    /// <summary>
    /// k + 1 &lt;= <typeparamref name="TLists"/>.Size and n &gt;= 2 Size, over columns [c0, end) (whole vectors of
    /// <typeparamref name="TLanes"/>: eight columns for AVX2, sixteen for AVX-512, twice the columns per comparator
    /// instruction (about 8 % faster on two Xeon cores, which then wait on more than the comparators: benchmarks/HISTORY.md);
    /// the thresholds run on eight-column parts, and pass 2 runs sixteen columns per Vector512 with Vector512 keys,
    /// eight per Vector256 otherwise).
    /// Pass 1 streams a block of columns eight rows at a time: each cell becomes an order-preserving int key
    /// (<see cref="OrderedKeys.Of(Vector256{float})"/>; or stays a float, <see cref="FloatKeyLanes512"/>), each group of eight keys per column is sorted by a 19-comparator network and
    /// merged into the column's two lists (<see cref="IExtremeLists"/>; with lists of seven, 88 min/max per 8
    /// rows), which stay in L1; leftover rows are inserted. Entries k and k - 1 of the lists give the thresholds
    /// and the tie check. Int keys where vpminsd/vpmaxsd
    /// issue faster than vminps/vmaxps (twice as fast on the AVX2 Zen 3 measured), floats where not
    /// (<see cref="FastestSelectionLanes"/>). Walking
    /// eight rows at a time keeps eight sequential read streams, which the hardware prefetchers follow; a column
    /// walk down all N rows opens N streams at once and reads at about half the bandwidth. A block's rows are only
    /// 0.5-4 KiB long (by the lists' size and <paramref name="blockScale"/>, <see cref="SelectionBlocks"/>), too short
    /// for those prefetchers to run far ahead, so each group also prefetches the next
    /// group's rows (after the last group, the next block's first rows: they arrive while pass 2 runs), a line of
    /// each every two vectors. Pass 2 then reads the block again from L2 (see <see cref="Pass2Block"/>).
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int RunGroups<TLists, TKeys, TLanes>(DomainBatch batch, int[] rows, ReadOnlySpan<nint> rowOffsets, double[] weights, ReadOnlySpan<float> weightsF, int k, int c0, int end, ColumnTarget target, CombineJob exact,
        Span<double> sums, int blockScale)
        where TLists : struct, IExtremeLists where TKeys : unmanaged where TLanes : struct, IKeyLanes<TKeys>
    {
        var size = TLists.Size;
        var oneValue = OneValueDecides(weights) ? Vector256<int>.AllBitsSet : Vector256<int>.Zero;
        // Wider blocks where asked, but at most MaxListBytes of lists on the stack (the scale's widest blocks of the
        // larger lists would take 128 KiB of a caller's stack).
        var streamBlock = Math.Min(TLists.BlockColumns * blockScale,
            Math.Max(TLists.BlockColumns, MaxListBytes / (2 * size * sizeof(TKeys)) * TLanes.Count));
        var width = TLanes.Count;
        // Key vectors cover `width` columns; the thresholds and pass 2's final writes run on eight-column parts of them.
        var parts = width / Vector256<float>.Count;
        var blockVectors = streamBlock / width;
        var blockParts = streamBlock / Vector256<float>.Count;
        var n = rows.Length;
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        // Cache-line aligned (stackalloc aligns to 16 bytes): an entry across two lines costs two L1 accesses per
        // load and store, which every unaligned Vector512 entry and half the Vector256 ones would be.
        var listSpace = stackalloc byte[2 * size * blockVectors * sizeof(TKeys) + 63];
        ref var lowLists = ref *CacheLineAligned<TKeys>(listSpace);
        ref var highLists = ref Unsafe.Add(ref lowLists, size * blockVectors);
        TKeys t;
        var empty = 0;
        var boundsSpace = stackalloc byte[2 * blockParts * sizeof(Vector256<float>) + 63];
        var accumulatorSpace = stackalloc byte[2 * blockParts * sizeof(Vector256<double>) + 63];
        var massSpace = stackalloc byte[blockParts * sizeof(Vector256<float>) + 63];
        var boundsState = new Span<Vector256<float>>(CacheLineAligned<Vector256<float>>(boundsSpace), 2 * blockParts);
        // The same bounds over sixteen columns, for pass 2 on Vector512 where the selection ran on it.
        var wideBoundsSpace = stackalloc byte[(parts == 2 ? blockParts : 0) * sizeof(Vector512<float>) + 63];
        var wideBoundsState = new Span<Vector512<float>>(CacheLineAligned<Vector512<float>>(wideBoundsSpace), parts == 2 ? blockParts : 0);
        // The thresholds themselves, for the lanes whose ties pass 2 must settle by rows (TiedKeptSum).
        Span<Vector256<float>> thresholdState = stackalloc Vector256<float>[2 * blockParts];
        var accumulatorState = new Span<Vector256<double>>(CacheLineAligned<Vector256<double>>(accumulatorSpace), 2 * blockParts);
        var massState = new Span<Vector256<float>>(CacheLineAligned<Vector256<float>>(massSpace), blockParts);
        Span<uint> exactState = stackalloc uint[blockParts];
        // Each row's weight broadcast once, so the inner loops load it as a plain vector.
        var weightSpace = stackalloc byte[(n <= 1024 ? n : 0) * sizeof(Vector256<float>) + 63];
        var weightVectors = n <= 1024 ? new Span<Vector256<float>>(CacheLineAligned<Vector256<float>>(weightSpace), n) : new Vector256<float>[n];
        for (var i = 0; i < n; i++) weightVectors[i] = Vector256.Create(weightsF[i]);
        Span<nint> ahead = stackalloc nint[8];
        var whole = n / 8 * 8;
        fixed (float* values = batch.Values)
        {
            for (var b = c0; b < end; b += streamBlock)
            {
                var vectors = Math.Min(streamBlock, end - b) / width;
                ref var block = ref Unsafe.Add(ref data, b);
                var r = 0;
                for (; r + 8 <= n; r += 8)
                {
                    RowPrefetch.NextGroup(ahead, (nint)values, rows, batch.Stride, r, whole, b, streamBlock);
                    var a0 = ahead[0]; var a1 = ahead[1]; var a2 = ahead[2]; var a3 = ahead[3];
                    var a4 = ahead[4]; var a5 = ahead[5]; var a6 = ahead[6]; var a7 = ahead[7];
                    ref var row0 = ref Unsafe.Add(ref block, rowOffsets[r + 0]);
                    ref var row1 = ref Unsafe.Add(ref block, rowOffsets[r + 1]);
                    ref var row2 = ref Unsafe.Add(ref block, rowOffsets[r + 2]);
                    ref var row3 = ref Unsafe.Add(ref block, rowOffsets[r + 3]);
                    ref var row4 = ref Unsafe.Add(ref block, rowOffsets[r + 4]);
                    ref var row5 = ref Unsafe.Add(ref block, rowOffsets[r + 5]);
                    ref var row6 = ref Unsafe.Add(ref block, rowOffsets[r + 6]);
                    ref var row7 = ref Unsafe.Add(ref block, rowOffsets[r + 7]);
                    var first = r == 0;
                    for (var v = 0; v < vectors; v++)
                    {
                        var at = (nuint)(v * width);
                        // One prefetch per 64-byte line of each row.
                        if ((at & 15) == 0) RowPrefetch.Line(a0, a1, a2, a3, a4, a5, a6, a7, (nint)at * sizeof(float));
                        var g0 = TLanes.Load(ref row0, at);
                        var g1 = TLanes.Load(ref row1, at);
                        var g2 = TLanes.Load(ref row2, at);
                        var g3 = TLanes.Load(ref row3, at);
                        var g4 = TLanes.Load(ref row4, at);
                        var g5 = TLanes.Load(ref row5, at);
                        var g6 = TLanes.Load(ref row6, at);
                        var g7 = TLanes.Load(ref row7, at);
                        // Knuth's 19-comparator network, layer by layer; every comparator writes fresh locals (g<layer>_<row>),
                        // so the JIT needs no register copies between layers.
                        var g1_0 = TLanes.Min(g0, g2); var g1_2 = TLanes.Max(g0, g2); var g1_1 = TLanes.Min(g1, g3); var g1_3 = TLanes.Max(g1, g3);
                        var g1_4 = TLanes.Min(g4, g6); var g1_6 = TLanes.Max(g4, g6); var g1_5 = TLanes.Min(g5, g7); var g1_7 = TLanes.Max(g5, g7);
                        var g2_0 = TLanes.Min(g1_0, g1_4); var g2_4 = TLanes.Max(g1_0, g1_4); var g2_1 = TLanes.Min(g1_1, g1_5); var g2_5 = TLanes.Max(g1_1, g1_5);
                        var g2_2 = TLanes.Min(g1_2, g1_6); var g2_6 = TLanes.Max(g1_2, g1_6); var g2_3 = TLanes.Min(g1_3, g1_7); var g2_7 = TLanes.Max(g1_3, g1_7);
                        var g3_0 = TLanes.Min(g2_0, g2_1); var g3_1 = TLanes.Max(g2_0, g2_1); var g3_2 = TLanes.Min(g2_2, g2_3); var g3_3 = TLanes.Max(g2_2, g2_3);
                        var g3_4 = TLanes.Min(g2_4, g2_5); var g3_5 = TLanes.Max(g2_4, g2_5); var g3_6 = TLanes.Min(g2_6, g2_7); var g3_7 = TLanes.Max(g2_6, g2_7);
                        var g4_2 = TLanes.Min(g3_2, g3_4); var g4_4 = TLanes.Max(g3_2, g3_4); var g4_3 = TLanes.Min(g3_3, g3_5); var g4_5 = TLanes.Max(g3_3, g3_5);
                        var g5_1 = TLanes.Min(g3_1, g4_4); var g5_4 = TLanes.Max(g3_1, g4_4); var g5_3 = TLanes.Min(g4_3, g3_6); var g5_6 = TLanes.Max(g4_3, g3_6);
                        var g6_1 = TLanes.Min(g5_1, g4_2); var g6_2 = TLanes.Max(g5_1, g4_2); var g6_3 = TLanes.Min(g5_3, g5_4); var g6_4 = TLanes.Max(g5_3, g5_4);
                        var g6_5 = TLanes.Min(g4_5, g5_6); var g6_6 = TLanes.Max(g4_5, g5_6);
                        TLists.MergeSmallest<TKeys, TLanes>(ref Unsafe.Add(ref lowLists, v * size), first, g3_0, g6_1, g6_2, g6_3, g6_4, g6_5, g6_6, g3_7);
                        TLists.MergeLargest<TKeys, TLanes>(ref Unsafe.Add(ref highLists, v * size), first, g3_0, g6_1, g6_2, g6_3, g6_4, g6_5, g6_6, g3_7);
                    }
                }
                for (; r < n; r++)
                {
                    ref var row = ref Unsafe.Add(ref block, rowOffsets[r]);
                    for (var v = 0; v < vectors; v++)
                    {
                        var up = TLanes.Load(ref row, (nuint)(v * width));
                        var down = up;
                        ref var s = ref Unsafe.Add(ref lowLists, v * size);
                        ref var l = ref Unsafe.Add(ref highLists, v * size);
                        for (var j = 0; j < size; j++)
                        {
                            ref var sj = ref Unsafe.Add(ref s, j);
                            t = TLanes.Min(sj, up); up = TLanes.Max(sj, up); sj = t;
                            ref var lj = ref Unsafe.Add(ref l, j);
                            t = TLanes.Max(lj, down); down = TLanes.Min(lj, down); lj = t;
                        }
                    }
                }
                for (var v = 0; v < vectors; v++)
                {
                    ref var s = ref Unsafe.Add(ref lowLists, v * size);
                    ref var l = ref Unsafe.Add(ref highLists, v * size);
                    for (var part = 0; part < parts; part++)
                    {
                        // Pass 2 keeps |x - c| <= h, c = (lo + hi) / 2 and h the larger of the thresholds' distances
                        // from c, both in float32: x - c only grows with x, so every lo <= x <= hi passes, and a trimmed
                        // cell (at most the k-th smallest, or at least the k-th largest) fails where those two lie
                        // beyond h; a lane where rounding brings them within h takes the exact path.
                        var lo = TLanes.ValuePart(Unsafe.Add(ref s, k), part);
                        var hi = TLanes.ValuePart(Unsafe.Add(ref l, k), part);
                        var centre = Midpoint(lo, hi, out var half);
                        var separated = Vector256.LessThan(TLanes.ValuePart(Unsafe.Add(ref s, k - 1), part) - centre, -half)
                            & Vector256.GreaterThan(TLanes.ValuePart(Unsafe.Add(ref l, k - 1), part) - centre, half);
                        var p = v * parts + part;
                        boundsState[2 * p] = centre;
                        thresholdState[2 * p] = lo;
                        thresholdState[2 * p + 1] = hi;
                        boundsState[2 * p + 1] = half;
                        // The kept cells lo <= x <= hi are exactly sorted positions k..n-k-1 when no trimmed cell equals a
                        // threshold: the k-th smallest below lo, the k-th largest above hi (keys order as the values do,
                        // NaN outside every finite value; -0 and +0, whose keys may differ, are equal values, which
                        // `separated` catches).
                        var straddles = Vector256.GreaterThanOrEqual(TLanes.Part(Unsafe.Add(ref s, k - 1), part), TLanes.Part(Unsafe.Add(ref s, k), part))
                            | Vector256.LessThanOrEqual(TLanes.Part(Unsafe.Add(ref l, k - 1), part), TLanes.Part(Unsafe.Add(ref l, k), part));
                        exactState[p] = ((straddles | ~separated.AsInt32()) & ~(OneKeptValue(half).AsInt32() & oneValue)).ExtractMostSignificantBits();
                    }
                }
                empty += Pass2Block(ref block, rowOffsets, weights, weightVectors, vectors * parts, boundsState, wideBoundsState, thresholdState, k, accumulatorState, massState, exactState, b, target, exact, sums);
            }
        }
        return empty;
    }

    /// <summary>
    /// Pass 2 of <see cref="RunGroups{TLists, TKeys, TLanes}"/> over one block that pass 1 left in L2, eight rows at a time again, with
    /// the per-column partial sums in L1: per lane, sum(p*x) / sum(p) over lo &lt;= x &lt;= hi, then the block's
    /// columns written (lanes flagged in <paramref name="exactLanes"/>, or not finite, through the exact path).
    /// </summary>
    /// <remarks>
    /// Precision (§13 allows float32 where its tolerance holds): the terms x - c (c the thresholds' midpoint) are
    /// summed in float32 over groups of eight rows and each group's partial is added in float64; every kept
    /// |x - c| is at most h, so the rounding error is at most <see cref="SumPrecision.CentredFloat32"/> times h.
    /// A lane where that could reach half of §13's tolerance (kept values spread far wider than their mean) is
    /// summed again in float64 from L2 (<see cref="KeptSum64"/>). A non-finite cell anywhere in the column makes
    /// its lane's sum NaN (a dropped cell still adds (x - c) * 0, which is NaN for x = NaN or +-inf), so such
    /// columns take the exact path, as masked ones do.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int Pass2Block(ref float block, ReadOnlySpan<nint> rowOffsets, double[] weights, ReadOnlySpan<Vector256<float>> weightVectors, int vectors,
        Span<Vector256<float>> boundsState, Span<Vector512<float>> wideBoundsState, ReadOnlySpan<Vector256<float>> thresholds, int k, Span<Vector256<double>> accumulatorState, Span<Vector256<float>> massState, Span<uint> exactLanes,
        int b, ColumnTarget target, CombineJob exact, Span<double> sums)
    {
        var n = rowOffsets.Length;
        ref var bounds = ref MemoryMarshal.GetReference(boundsState);
        ref var accumulators = ref MemoryMarshal.GetReference(accumulatorState);
        ref var masses = ref MemoryMarshal.GetReference(massState);
        ref var w = ref MemoryMarshal.GetReference(weightVectors);
        accumulatorState[..(2 * vectors)].Clear();
        massState[..vectors].Clear();
        var r = 0;
        // Pointers with one shared column index: with references the JIT spilled row addresses and recomputed
        // each vector's offsets, a third more instructions in the hottest loop.
        fixed (float* origin = &block)
        fixed (Vector256<float>* weightBase = weightVectors)
        fixed (Vector256<float>* boundBase = boundsState)
        fixed (Vector256<double>* sumBase = accumulatorState)
        fixed (Vector256<float>* massBase = massState)
        {
            // Sixteen columns a vector over the groups of eight rows where the selection ran on Vector512 (its
            // caller then gives room for the wide bounds); the rows past the groups take the loop below.
            if (!wideBoundsState.IsEmpty) r = Pass2Wide(origin, rowOffsets, weightBase, boundBase, wideBoundsState, sumBase, massBase, vectors);
            for (; r + 8 <= n; r += 8)
            {
                var x0p = origin + rowOffsets[r + 0];
                var x1p = origin + rowOffsets[r + 1];
                var x2p = origin + rowOffsets[r + 2];
                var x3p = origin + rowOffsets[r + 3];
                var x4p = origin + rowOffsets[r + 4];
                var x5p = origin + rowOffsets[r + 5];
                var x6p = origin + rowOffsets[r + 6];
                var x7p = origin + rowOffsets[r + 7];
                var wp = weightBase + r;
                var bp = boundBase;
                var sp = sumBase;
                var mp = massBase;
                var end = vectors * 8;
                for (var i = 0; i < end; i += 8)
                {
                    var centre = bp[0];
                    var half = bp[1];
                    var d0 = Vector256.Load(x0p + i) - centre;
                    var d1 = Vector256.Load(x1p + i) - centre;
                    var p0 = Kept(d0, half) & wp[0];
                    var p1 = Kept(d1, half) & wp[1];
                    var q01 = Vector256.FusedMultiplyAdd(d1, p1, d0 * p0);
                    var m01 = p0 + p1;
                    var d2 = Vector256.Load(x2p + i) - centre;
                    var d3 = Vector256.Load(x3p + i) - centre;
                    var p2 = Kept(d2, half) & wp[2];
                    var p3 = Kept(d3, half) & wp[3];
                    var q23 = Vector256.FusedMultiplyAdd(d3, p3, d2 * p2);
                    var m23 = p2 + p3;
                    var d4 = Vector256.Load(x4p + i) - centre;
                    var d5 = Vector256.Load(x5p + i) - centre;
                    var p4 = Kept(d4, half) & wp[4];
                    var p5 = Kept(d5, half) & wp[5];
                    var q45 = Vector256.FusedMultiplyAdd(d5, p5, d4 * p4);
                    var m45 = p4 + p5;
                    var d6 = Vector256.Load(x6p + i) - centre;
                    var d7 = Vector256.Load(x7p + i) - centre;
                    var p6 = Kept(d6, half) & wp[6];
                    var p7 = Kept(d7, half) & wp[7];
                    var q67 = Vector256.FusedMultiplyAdd(d7, p7, d6 * p6);
                    var m67 = p6 + p7;
                    var (gl, gh) = Vector256.Widen((q01 + q23) + (q45 + q67));
                    sp[0] += gl;
                    sp[1] += gh;
                    mp[0] += (m01 + m23) + (m45 + m67);
                    bp += 2;
                    sp += 2;
                    mp += 1;
                }
            }
        }
        for (; r < n; r++)
        {
            ref var row = ref Unsafe.Add(ref block, rowOffsets[r]);
            var wr = Unsafe.Add(ref w, r);
            for (var v = 0; v < vectors; v++)
            {
                var x = Vector256.LoadUnsafe(ref row, (nuint)(v * 8)) - Unsafe.Add(ref bounds, 2 * v);
                var p = wr & Kept(x, Unsafe.Add(ref bounds, 2 * v + 1));
                var (gl, gh) = Vector256.Widen(x * p);
                Unsafe.Add(ref accumulators, 2 * v) += gl;
                Unsafe.Add(ref accumulators, 2 * v + 1) += gh;
                Unsafe.Add(ref masses, v) += p;
            }
        }
        var empty = 0;
        var factor32 = Vector256.Create(SumPrecision.CentredFloat32(n));
        for (var v = 0; v < vectors; v++)
        {
            var (ml, mh) = Vector256.Widen(Unsafe.Add(ref masses, v));
            var (cl, ch) = Vector256.Widen(Unsafe.Add(ref bounds, 2 * v));
            var (hl, hh) = Vector256.Widen(Unsafe.Add(ref bounds, 2 * v + 1));
            var resultLo = cl + Unsafe.Add(ref accumulators, 2 * v) / ml;
            var resultHi = ch + Unsafe.Add(ref accumulators, 2 * v + 1) / mh;
            var finite = Vector256.Equals(resultLo - resultLo, Vector256<double>.Zero).ExtractMostSignificantBits() |
                (Vector256.Equals(resultHi - resultHi, Vector256<double>.Zero).ExtractMostSignificantBits() << 4);
            var precise = SumPrecision.HoldingLanes(resultLo, resultHi, hl * factor32, hh * factor32);
            var c = b + v * 8;
            var decided = finite & ~exactLanes[v] & 0xFF;
            if ((decided & precise) == 0xFF)
            {
                target.WriteFinite8(c, resultLo, resultHi);
                continue;
            }
            resultLo.CopyTo(sums);
            resultHi.CopyTo(sums[4..]);
            if ((decided & ~precise) != 0)
                decided &= precise | KeptSum64(ref block, rowOffsets, weights, v * 8, Unsafe.Add(ref bounds, 2 * v), Unsafe.Add(ref bounds, 2 * v + 1), decided & ~precise, sums);
            var tied = exactLanes[v] & 0xFF & ~decided;
            if (tied != 0) decided |= TiedKeptSum(ref block, rowOffsets, weights, v * 8, thresholds[2 * v], thresholds[2 * v + 1], k, tied, sums);
            empty += Write(target, c, decided, sums, exact);
        }
        return empty;
    }

    /// <summary>
    /// <see cref="Pass2Block"/>'s groups of eight rows over sixteen columns per Vector512 (<paramref name="parts"/>
    /// eight-column parts, an even count): each lane computes what the eight-column loop computes, in the same order,
    /// into the same per-part state (the partial sums of two parts are one Vector512 of float64, their masses one of
    /// float32), so the results are the same bit for bit with half the instructions. Returns the rows done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int Pass2Wide(
        float* origin, ReadOnlySpan<nint> rowOffsets, Vector256<float>* weightBase, Vector256<float>* boundBase,
        Span<Vector512<float>> wideBoundsState, Vector256<double>* sumBase, Vector256<float>* massBase, int parts)
    {
        var n = rowOffsets.Length;
        var vectors = parts / 2;
        fixed (Vector512<float>* wideBase = wideBoundsState)
        {
            for (var v = 0; v < vectors; v++)
            {
                wideBase[2 * v] = Vector512.Create(boundBase[4 * v], boundBase[4 * v + 2]);
                wideBase[2 * v + 1] = Vector512.Create(boundBase[4 * v + 1], boundBase[4 * v + 3]);
            }
            var r = 0;
            for (; r + 8 <= n; r += 8)
            {
                var x0p = origin + rowOffsets[r + 0];
                var x1p = origin + rowOffsets[r + 1];
                var x2p = origin + rowOffsets[r + 2];
                var x3p = origin + rowOffsets[r + 3];
                var x4p = origin + rowOffsets[r + 4];
                var x5p = origin + rowOffsets[r + 5];
                var x6p = origin + rowOffsets[r + 6];
                var x7p = origin + rowOffsets[r + 7];
                var w0 = Vector512.Create(weightBase[r], weightBase[r]);
                var w1 = Vector512.Create(weightBase[r + 1], weightBase[r + 1]);
                var w2 = Vector512.Create(weightBase[r + 2], weightBase[r + 2]);
                var w3 = Vector512.Create(weightBase[r + 3], weightBase[r + 3]);
                var w4 = Vector512.Create(weightBase[r + 4], weightBase[r + 4]);
                var w5 = Vector512.Create(weightBase[r + 5], weightBase[r + 5]);
                var w6 = Vector512.Create(weightBase[r + 6], weightBase[r + 6]);
                var w7 = Vector512.Create(weightBase[r + 7], weightBase[r + 7]);
                var bp = wideBase;
                var sp = (Vector512<double>*)sumBase;
                var mp = (Vector512<float>*)massBase;
                var end = vectors * 16;
                for (var i = 0; i < end; i += 16)
                {
                    var centre = bp[0];
                    var half = bp[1];
                    var d0 = Vector512.Load(x0p + i) - centre;
                    var d1 = Vector512.Load(x1p + i) - centre;
                    var p0 = KeptWeight(d0, half, w0);
                    var p1 = KeptWeight(d1, half, w1);
                    var q01 = Vector512.FusedMultiplyAdd(d1, p1, d0 * p0);
                    var m01 = p0 + p1;
                    var d2 = Vector512.Load(x2p + i) - centre;
                    var d3 = Vector512.Load(x3p + i) - centre;
                    var p2 = KeptWeight(d2, half, w2);
                    var p3 = KeptWeight(d3, half, w3);
                    var q23 = Vector512.FusedMultiplyAdd(d3, p3, d2 * p2);
                    var m23 = p2 + p3;
                    var d4 = Vector512.Load(x4p + i) - centre;
                    var d5 = Vector512.Load(x5p + i) - centre;
                    var p4 = KeptWeight(d4, half, w4);
                    var p5 = KeptWeight(d5, half, w5);
                    var q45 = Vector512.FusedMultiplyAdd(d5, p5, d4 * p4);
                    var m45 = p4 + p5;
                    var d6 = Vector512.Load(x6p + i) - centre;
                    var d7 = Vector512.Load(x7p + i) - centre;
                    var p6 = KeptWeight(d6, half, w6);
                    var p7 = KeptWeight(d7, half, w7);
                    var q67 = Vector512.FusedMultiplyAdd(d7, p7, d6 * p6);
                    var m67 = p6 + p7;
                    var (gl, gh) = Vector512.Widen((q01 + q23) + (q45 + q67));
                    sp[0] += gl;
                    sp[1] += gh;
                    mp[0] += (m01 + m23) + (m45 + m67);
                    bp += 2;
                    sp += 2;
                    mp += 1;
                }
            }
            return r;
        }
    }

    /// <summary>The general case: the lists live in <paramref name="small"/> and <paramref name="large"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector256<float> Low, Vector256<float> High) Extremes(
        ref float column, int n, Span<Vector256<float>> small, Span<Vector256<float>> large)
    {
        small.Fill(Vector256.Create(float.PositiveInfinity));
        large.Fill(Vector256.Create(float.NegativeInfinity));
        for (var r = 0; r < n; r++)
        {
            var x = Vector256.LoadUnsafe(ref column, (nuint)(r * ColumnTile.Width));
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

    /// <summary>
    /// Lanes <paramref name="lanes"/> of the column vector at <paramref name="column"/> (a block column offset)
    /// summed again in float64 over the cells pass 2 keeps, for columns whose float32 sums could miss §13's tolerance
    /// (kept values spread far wider than their mean): their results go into <paramref name="sums"/>; returns the
    /// lanes whose float64 sums are close enough to the reference's (all but columns that cancel to about 1e-12 of
    /// their values), the others take the exact path, which sums in the reference's order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe uint KeptSum64(ref float block, ReadOnlySpan<nint> rowOffsets, double[] weights, int column,
        Vector256<float> centre, Vector256<float> half, uint lanes, Span<double> sums)
    {
        var kept = new KeptSums64();
        for (var r = 0; r < rowOffsets.Length; r++)
        {
            var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref block, rowOffsets[r] + column));
            kept.Add(x, Kept(x - centre, half).AsInt32(), weights[r]);
        }
        return kept.Settle(rowOffsets.Length, lanes, sums);
    }

    /// <summary>
    /// Lanes <paramref name="lanes"/> of the column vector at <paramref name="column"/> whose thresholds tie (a value
    /// equal to lo or hi lies on both sides of a trim boundary), settled as the reference's (value, row) order settles
    /// them instead of on the exact path: of the cells equal to lo the first lo-dropped in row order go, of those equal
    /// to hi the last hi-dropped, where a count pass says how many cells lie below lo and above hi (the k dropped at
    /// an end are those beyond the threshold and then the equal ones). Summed in float64 with KeptSum64's precision
    /// check; results into <paramref name="sums"/>; returns the lanes settled. Float compares treat -0 and +0 as one
    /// value, as the reference's order does (the keys may not). A lane with a non-finite cell or a sum that could miss
    /// §13's tolerance is not settled. Quantised weights tie at a threshold in most columns: at 17 levels the exact
    /// path made the trimmed mean about 60x slower.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint TiedKeptSum(ref float block, ReadOnlySpan<nint> rowOffsets, double[] weights, int column,
        Vector256<float> lo, Vector256<float> hi, int k, uint lanes, Span<double> sums)
    {
        var n = rowOffsets.Length;
        var below = Vector256<int>.Zero;
        var above = Vector256<int>.Zero;
        var atHigh = Vector256<int>.Zero;
        var finite = Vector256<int>.AllBitsSet;
        for (var r = 0; r < n; r++)
        {
            var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref block, rowOffsets[r] + column));
            below -= Vector256.LessThan(x, lo).AsInt32();
            above -= Vector256.GreaterThan(x, hi).AsInt32();
            atHigh -= Vector256.Equals(x, hi).AsInt32();
            finite &= Vector256.Equals(x - x, Vector256<float>.Zero).AsInt32();
        }
        var lowDropped = Vector256.Create(k) - below;
        var highKept = atHigh - (Vector256.Create(k) - above);
        var lowSeen = Vector256<int>.Zero;
        var highSeen = Vector256<int>.Zero;
        var sums64 = new KeptSums64();
        for (var r = 0; r < n; r++)
        {
            var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref block, rowOffsets[r] + column));
            var atLo = Vector256.Equals(x, lo).AsInt32();
            var atHi = Vector256.Equals(x, hi).AsInt32();
            var kept = (Vector256.GreaterThan(x, lo).AsInt32() | (atLo & Vector256.GreaterThanOrEqual(lowSeen, lowDropped)))
                & (Vector256.LessThan(x, hi).AsInt32() | (atHi & Vector256.LessThan(highSeen, highKept)));
            lowSeen -= atLo;
            highSeen -= atHi;
            sums64.Add(x, kept, weights[r]);
        }
        return sums64.Settle(n, lanes & finite.ExtractMostSignificantBits(), sums);
    }

    /// <summary>
    /// Float64 sums of w x, w |x| and w over a column vector's kept cells (the second-chance sums of
    /// <see cref="KeptSum64"/> and <see cref="TiedKeptSum"/>), and the §13 check on their quotient.
    /// </summary>
    private struct KeptSums64
    {
        private Vector256<double> sumLo, sumHi, absLo, absHi, massLo, massHi;

        /// <summary>Adds row values <paramref name="x"/> with weight <paramref name="weight"/> where
        /// <paramref name="kept"/> is set.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector256<float> x, Vector256<int> kept, double weight)
        {
            var (keptLo, keptHi) = Vector256.Widen(kept);
            var (xl, xh) = Vector256.Widen(x);
            var w = Vector256.Create(weight);
            var wl = w & keptLo.AsDouble();
            var wh = w & keptHi.AsDouble();
            sumLo = Vector256.FusedMultiplyAdd(xl, wl, sumLo);
            sumHi = Vector256.FusedMultiplyAdd(xh, wh, sumHi);
            absLo = Vector256.FusedMultiplyAdd(Vector256.Abs(xl), wl, absLo);
            absHi = Vector256.FusedMultiplyAdd(Vector256.Abs(xh), wh, absHi);
            massLo += wl;
            massHi += wh;
        }

        /// <summary>Writes sum / mass of lanes <paramref name="lanes"/> into <paramref name="sums"/>; returns those of
        /// them whose float64 sums over <paramref name="rows"/> rows are close enough to the reference's.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly uint Settle(int rows, uint lanes, Span<double> sums)
        {
            var resultLo = sumLo / massLo;
            var resultHi = sumHi / massHi;
            var factor = Vector256.Create(SumPrecision.Float64(rows));
            var precise = SumPrecision.HoldingLanes(resultLo, resultHi, absLo / massLo * factor, absHi / massHi * factor);
            for (var lane = 0; lane < 8; lane++)
            {
                if ((lanes >> lane & 1) != 0) sums[lane] = lane < 4 ? resultLo.GetElement(lane) : resultHi.GetElement(lane - 4);
            }
            return precise & lanes;
        }
    }

    /// <summary>
    /// The thresholds' midpoint c = (lo + hi) / 2 and, in <paramref name="half"/>, the larger distance from c to
    /// either, both in float32 as the kernels compute x - c: every lo &lt;= x &lt;= hi has |x - c| &lt;= half.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Midpoint(Vector256<float> lo, Vector256<float> hi, out Vector256<float> half)
    {
        var centre = (lo + hi) * Vector256.Create(0.5f);
        half = Vector256.Max(centre - lo, hi - centre);
        return centre;
    }

    /// <summary>
    /// Lanes whose thresholds are one value (lo = hi, so h = 0): every kept cell, sorted positions k..n-k-1, has that
    /// value whichever rows ties put there, and the result is that value whenever they weigh anything (only where every
    /// weight is positive, <see cref="OneValueDecides"/>: with zero weights the kept rows may all weigh zero, and the
    /// reference's 0 / 0 is an empty column). Pass 2 keeps the cells
    /// equal to it and sums (x - c) = 0, so it gives c = lo; the lane needs neither the kept count nor the exact
    /// path. A weight no domain changed (every row the same value: a frozen layer, a zero-initialised bias) is such
    /// a column, and with a whole frozen model every column is: the exact path made that about 40x slower.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> OneKeptValue(Vector256<float> half) => Vector256.Equals(half, Vector256<float>.Zero);

    /// <summary>Whether <see cref="OneKeptValue"/> decides a lane: every weight positive, so that any kept cells weigh
    /// something. A zero weight is accepted (its row takes no weighted part); where the rows a tie keeps all weigh
    /// zero the reference's sum q x / sum q is 0 / 0, an empty column, which the kept count and the row-ordered
    /// tie pass (<see cref="TiedKeptSum"/>) or the exact path give.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool OneValueDecides(ReadOnlySpan<double> weights)
    {
        foreach (var w in weights)
            if (!(w > 0)) return false;
        return true;
    }

    /// <summary>The cells pass 2 of the streamed kernel keeps: |x - c| &lt;= h for the centred value
    /// <paramref name="centred"/> = x - c (see <see cref="RunGroups{TLists, TKeys, TLanes}"/>). False for NaN and infinities.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Kept(Vector256<float> centred, Vector256<float> half) =>
        Vector256.LessThanOrEqual(Vector256.Abs(centred), half);

    /// <summary>The weight where |x - c| &lt;= h, else 0 (a compare into a mask register and a masked move).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> KeptWeight(Vector512<float> centred, Vector512<float> half, Vector512<float> weight) =>
        Vector512.ConditionalSelect(Vector512.LessThanOrEqual(Vector512.Abs(centred), half), weight, Vector512<float>.Zero);

    /// <summary>The cells pass 2 keeps: lo &lt;= x &lt;= hi, the two thresholds included (a tie across a threshold is
    /// caught afterwards by the kept count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Kept(Vector256<float> x, Vector256<float> lo, Vector256<float> hi) =>
        Vector256.GreaterThanOrEqual(x, lo) & Vector256.LessThanOrEqual(x, hi);
}
