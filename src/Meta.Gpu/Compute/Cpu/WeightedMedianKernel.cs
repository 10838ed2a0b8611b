using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// The weighted median over unmasked rows, eight columns per Vector256. Each cell becomes one int key: the value's
/// order-preserving bits with the low b bits replaced by the row position (b = log2 of the padded row count,
/// <see cref="OrderedKeys.WithRow"/>), so one min/max network (no payload) sorts (value, row) pairs at the cost of
/// the plain median's sort. The pick reads only a band of ranks known from the weights alone: for 16, 32 and 64
/// padded rows a network pruned to the narrowest window that holds the band sorts it in registers
/// (<see cref="WeightedMedianSelectionNetwork"/>); beyond 64 the runs are merged by <see cref="ColumnSortNetwork"/>
/// as far as the band needs. The pick of DESIGN §4 step 6 is the first rank whose running sum reaches
/// S/2 − 1e-12·S. The running sums are exact int32 sums of fixed-point weights (<see cref="FixedPointWeights"/>):
/// the sum below a starting rank (the previous column vector's lowest pick, neighbouring columns picking near each
/// other) is one pass over the keys in row order with broadcast weights, no gathers; from there one 8-lane gather
/// per rank walks the lanes up, or down for those already past the bar, to their picks.
/// The picked cells' true values come with one gather; only lanes that take a mean or whose pick shares its key
/// group take the scalar path.
/// </summary>
/// <remarks>
/// Keys that share their high bits (a "group": values of one sign whose magnitudes agree above the low b bits; the
/// least magnitudes of both signs, the zeros among them, form one group) order by row, not by value. Equal values
/// order by row in the reference too, so a group of equal values sorts exactly as there; a group that mixes
/// distinct values may not. Key order is exact across groups, so the prefix of the key order up to the picked cell
/// is the reference's prefix whenever the picked cell's group holds one value only: then the pick, its running sum
/// and the averaging decision are the reference's (the sums differ in rounding order only, far inside the 1e-12 S
/// slack). The next value for the mean is the next cell when the picked cell's group goes on (an equal value,
/// though maybe the other zero) and else the least value of the following group. A lane whose picked cell's group
/// mixes values (estimated at a few in a thousand columns of the §13 workload) is redone on the exact path. S is
/// the sum of all the rows' weights (every cell is present on this path). The fixed-point sums decide every lane
/// whose running sum is more than a few units (of 2^30 per S) from the bar and from S/2; the others (equal weights
/// put the pick exactly on S/2) are decided by a float64 sum of the same cells in row order, and a lane that
/// float64 sum puts past the walked rank, or within rounding of a bar (where only the reference's own arithmetic
/// decides), takes the exact path.
/// </remarks>
internal static unsafe class WeightedMedianKernel
{
    public const int MaxRows = 256;

    /// <summary>Vectors in hardware, 256-bit or 128-bit (<see cref="PortableVector256"/>); the lookups by row are AVX2's
    /// gathers where it has them, eight loads elsewhere (<see cref="Gather(int*, Vector256{int})"/>).</summary>
    public static bool IsSupported => PortableVector256.IsFast;

    private static readonly Vector256<int> Lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(DomainBatch batch, int[] rows, double[] weights, int c0, int c1, ColumnTarget target, CombineJob exact)
    {
        var n = rows.Length;
        var width = Vector256<int>.Count;
        var end = c0 + (c1 - c0) / width * width;
        if (end == c0 || !FixedPointWeights.TryCreate(weights, out var mass))
        {
            exact.RunExact(c0, c1, target);
            return;
        }
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(n, 8));
        var rowMask = size - 1;
        Span<Vector256<int>> units = stackalloc Vector256<int>[n];
        for (var r = 0; r < n; r++) units[r] = Vector256.Create(mass.RowUnits[r]);
        var bars = new PickBars(mass, n);
        var magnitude = Vector256.Create(int.MaxValue & ~rowMask);
        // One column vector's padded rows, sorted in place, then its keys in row order: 4 KiB at 64 rows, in L1.
        var scratch = RunTile.Vectors<int>(size + n);
        var tile = scratch[..size];
        var keys = scratch.Slice(size, n);
        var blockColumns = PrefetchBlockColumns(n);
        var guess = mass.FirstRank;
        var from = Math.Max(mass.FirstRank - 1, 0);
        var to = Math.Min(mass.LastRank + 1, n - 1);
        ref var data = ref MemoryMarshal.GetArrayDataReference(batch.Values);
        var stride = (nint)batch.Stride;
        // Rows not scanned: each vector's keys are checked against those of the largest finite magnitudes.
        var signal = exact.Signal;
        var finiteLow = OrderedKeys.WithRow(Vector256.Create(-float.MaxValue), magnitude, Vector256<int>.Zero);
        var finiteHigh = OrderedKeys.WithRow(Vector256.Create(float.MaxValue), magnitude, Vector256.Create(rowMask));

        fixed (double* wp = weights)
        fixed (float* dp = batch.Values)
        fixed (int* rp = rows)
        fixed (int* qp = mass.RowUnits)
        {
            RowPrefetch.BlockShare((nint)dp, rows, stride, c0, Math.Min(end, c0 + blockColumns), 0, 1);
            for (var b = c0; b < end; b += blockColumns)
            {
                var vectors = Math.Min(blockColumns, end - b) / width;
                var next = Math.Min(end, b + 2 * blockColumns);
                for (var v = 0; v < vectors; v++)
                {
                    // The next block arrives in L2 a share at a time while this one is worked on.
                    RowPrefetch.BlockShare((nint)dp, rows, stride, b + blockColumns, next, v, vectors);
                    var c = b + v * width;
                    var (lowest, highest) = SortColumnVector(ref data, rows, stride, c, tile, keys, magnitude);
                    if (signal is not null && OrderedKeys.AnyNonFinite(lowest, highest, finiteLow, finiteHigh)) signal.Raise();
                    // Only the ranks the walk and the value checks read need their final order.
                    var windowed = WeightedMedianSelectionNetwork.TrySortRanks(ref tile[0], size, from, to);
                    if (!windowed)
                    {
                        ColumnSortNetwork.MergeRuns(tile, size / 2);
                        if (size > 8) ColumnSortNetwork.MergeHalvesAround(tile, from, to);
                    }
                    fixed (Vector256<int>* tp = tile)
                    {
                        var rank = Pick(tp, keys, units, qp, rowMask, mass.FirstRank, mass.LastRank, guess, bars.Candidate, out var sum);
                        // Neighbouring columns pick near each other: the next walk starts at this one's lowest pick.
                        guess = LowestLane(rank);
                        Finish8(dp, rp, ref data, rows, stride, c, tp, tile, keys, windowed, sum, wp, n, rowMask, rank, bars, target, exact);
                    }
                }
            }
        }
        if (end < c1) exact.RunExact(end, c1, target);
    }

    /// <summary>The fixed-point bars of one call, as vectors, and the float64 ones they stand in for.</summary>
    private readonly struct PickBars(FixedPointWeights mass, int n)
    {
        /// <summary>A q sum below this has certainly not crossed (the walk's test).</summary>
        public readonly Vector256<int> Candidate = Vector256.Create(mass.Threshold - mass.Margin);

        /// <summary>A q sum at or above this has certainly crossed.</summary>
        public readonly Vector256<int> Crossed = Vector256.Create(mass.Threshold + mass.Margin);

        public readonly Vector256<int> Half = Vector256.Create(mass.Half);

        public readonly Vector256<int> AverageMargin = Vector256.Create(mass.AverageMargin);

        public readonly Vector256<double> Threshold64 = Vector256.Create(mass.Total / 2.0 - ExactColumnRules.WeightedMedianSlack * mass.Total);

        public readonly Vector256<double> Half64 = Vector256.Create(mass.Total / 2.0);

        public readonly Vector256<double> Eps64 = Vector256.Create(ExactColumnRules.WeightedMedianSlack * mass.Total);

        /// <summary>How far the row-order float64 sums of raw weights may lie from the reference's sorted-order
        /// sums of renormalised ones, each within (2n + 4) roundings of S of the true mass: twice that, in units
        /// of the mass. A sum this close to a bar is decided by rounding, so by the reference's own arithmetic.</summary>
        public readonly Vector256<double> Tolerance64 = Vector256.Create((4.0 * n + 16.0) * Math.ScaleB(1.0, -53) * mass.Total);

        public readonly Vector256<int> LastRank = Vector256.Create(n - 1);
    }

    /// <summary>Bytes of rows prefetched ahead of the column vectors that read them.</summary>
    private const int PrefetchBlockBytes = 128 * 1024;

    /// <summary>
    /// Columns per prefetched block: a page (1024 columns) of each row up to 32 rows, fewer beyond so that a block
    /// stays at <see cref="PrefetchBlockBytes"/> (half a page at 64 rows); the block being read and the one arriving
    /// then fill at most a quarter of a 1 MiB L2. With 4 KiB pages placed at random in the L2's sets, 256 KiB
    /// blocks (two of them half that L2) evicted lines before they were read: on a 2-core Zen 4 EPYC (1 MiB L2,
    /// thirty-first session, probe, alternated) 64 x 1M took 20.8-22.4 ms (minimums) with 128 KiB blocks and
    /// 20.4-21.8 with 64 KiB, against 23.9-24.2 with 256 KiB. On the 2-core Xeon (2 MiB L2, twenty-eighth session)
    /// 512 and 1024 columns streamed alike, 256 (1 KiB runs) a tenth slower, 2048 and 4096 no faster.
    /// </summary>
    private static int PrefetchBlockColumns(int rows) => Math.Clamp(PrefetchBlockBytes / sizeof(float) / rows / 8 * 8, 8, 1024);

    /// <summary>
    /// The keys of the eight columns from <paramref name="c"/>: in row order into <paramref name="keys"/>, and into
    /// <paramref name="tile"/> as sorted runs of eight (each eight-row group sorted in registers), padded to the
    /// tile's length with int.MaxValue. The rows come from L2, where the block's prefetch put them, and the two
    /// buffers (4 KiB at 64 rows) stay in L1 for the network, the pick and the finish. An earlier pass A keyed and
    /// sorted a whole block of 256 columns into 128 KiB of L2 first; that round trip cost a sixth of the
    /// kernel's time in cache. Returns each lane's least and greatest key, for the non-finite check of rows not
    /// scanned: the ends of the sorted groups give them at a sixteenth of the cost of a pass over the keys.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector256<int> Lowest, Vector256<int> Highest) SortColumnVector(
        ref float data, int[] rows, nint stride, int c, Span<Vector256<int>> tile, Span<Vector256<int>> keys, Vector256<int> magnitude)
    {
        var n = rows.Length;
        ref var o = ref MemoryMarshal.GetReference(tile);
        ref var k = ref MemoryMarshal.GetReference(keys);
        var whole = n / 8 * 8;
        var lowest = Vector256.Create(int.MaxValue);
        var highest = Vector256.Create(int.MinValue);
        for (var g = 0; g < whole; g += 8)
        {
            var a0 = Key(ref data, rows, stride, c, g, magnitude);
            var a1 = Key(ref data, rows, stride, c, g + 1, magnitude);
            var a2 = Key(ref data, rows, stride, c, g + 2, magnitude);
            var a3 = Key(ref data, rows, stride, c, g + 3, magnitude);
            var a4 = Key(ref data, rows, stride, c, g + 4, magnitude);
            var a5 = Key(ref data, rows, stride, c, g + 5, magnitude);
            var a6 = Key(ref data, rows, stride, c, g + 6, magnitude);
            var a7 = Key(ref data, rows, stride, c, g + 7, magnitude);
            ref var kg = ref Unsafe.Add(ref k, g);
            kg = a0;
            Unsafe.Add(ref kg, 1) = a1;
            Unsafe.Add(ref kg, 2) = a2;
            Unsafe.Add(ref kg, 3) = a3;
            Unsafe.Add(ref kg, 4) = a4;
            Unsafe.Add(ref kg, 5) = a5;
            Unsafe.Add(ref kg, 6) = a6;
            Unsafe.Add(ref kg, 7) = a7;
            ColumnSortNetwork.Sort8(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
            lowest = Vector256.Min(lowest, a0);
            highest = Vector256.Max(highest, a7);
            ref var og = ref Unsafe.Add(ref o, g);
            og = a0;
            Unsafe.Add(ref og, 1) = a1;
            Unsafe.Add(ref og, 2) = a2;
            Unsafe.Add(ref og, 3) = a3;
            Unsafe.Add(ref og, 4) = a4;
            Unsafe.Add(ref og, 5) = a5;
            Unsafe.Add(ref og, 6) = a6;
            Unsafe.Add(ref og, 7) = a7;
        }
        // The groups past the rows are all int.MaxValue: sorted already. Written for every vector, as the
        // tile's other rows are, rather than trusting each network and merge to leave them as they were.
        var filled = whole < n ? whole + 8 : whole;
        var pad = Vector256.Create(int.MaxValue);
        if (whole < n)
        {
            for (var r = whole; r < n; r++)
            {
                var key = Key(ref data, rows, stride, c, r, magnitude);
                Unsafe.Add(ref o, r) = key;
                Unsafe.Add(ref k, r) = key;
                // Before the pads join the group: their int.MaxValue is no row's key.
                lowest = Vector256.Min(lowest, key);
                highest = Vector256.Max(highest, key);
            }
            for (var r = n; r < filled; r++) Unsafe.Add(ref o, r) = pad;
            ColumnSortNetwork.Sort8(ref Unsafe.Add(ref o, whole));
        }
        for (var r = filled; r < tile.Length; r++) Unsafe.Add(ref o, r) = pad;
        return (lowest, highest);
    }

    /// <summary>
    /// Per lane, the first rank in [<paramref name="first"/>, <paramref name="last"/>] whose q sum reaches
    /// <paramref name="bar"/> (last when none does) and its q sum in <paramref name="sum"/>. The walk starts at
    /// <paramref name="start"/> (clamped to the range), with the sum of the ranks below it from one pass over the keys
    /// in row order; lanes already past the bar there walk down, subtracting each rank's q, the others walk up adding
    /// it. Each step looks a rank's q up by the key's row bits (one 8-lane int gather per rank) and a walk stops when
    /// all its lanes have found their rank. The q sums are exact integers, so the start changes how many ranks are
    /// walked, never the rank found or its sum. The caller guarantees no rank below first reaches the bar.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> Pick(
        Vector256<int>* tile, ReadOnlySpan<Vector256<int>> keys, ReadOnlySpan<Vector256<int>> units, int* q, int rowMask,
        int first, int last, int start, Vector256<int> bar, out Vector256<int> sum)
    {
        start = Math.Clamp(start, first, last);
        var running = start == 0 ? Vector256<int>.Zero : MassAtOrBelow(keys, units, tile[start - 1]);
        var below = bar - Vector256<int>.One;
        var positions = Vector256.Create(rowMask);
        // Past the bar below start (never at first): the sum of ranks up to j is held, and a lane stops at the
        // first j down whose sum without rank j falls below the bar.
        var over = Vector256.GreaterThan(running, below);
        var down = over;
        var downSum = running;
        var downRank = Vector256.Create(start - 1);
        for (var j = start - 1; j >= first && down != Vector256<int>.Zero; j--)
        {
            var without = downSum - (Gather(q, tile[j] & positions) & down);
            var goes = down & Vector256.GreaterThan(without, below);
            downSum = Vector256.ConditionalSelect(goes, without, downSum);
            downRank += goes; // all ones is -1: one rank lower for each lane still at or above the bar
            down = goes;
        }
        // Branch-free per lane (the q sums only grow): a lane that has reached the bar stops adding, so its sum
        // and rank stay those of its pick; the only branch is the exit once every lane has.
        var found = over;
        var rank = Vector256.Create(start);
        for (var j = start; j <= last && found != Vector256<int>.AllBitsSet; j++)
        {
            running += Gather(q, tile[j] & positions) & ~found;
            found = Vector256.GreaterThan(running, below);
            rank -= ~found; // all ones is -1: one more rank for each lane still short of the bar
        }
        sum = Vector256.ConditionalSelect(over, downSum, running);
        return Vector256.ConditionalSelect(over, downRank, Vector256.Min(rank, Vector256.Create(last)));
    }

    /// <summary>The least of the eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LowestLane(Vector256<int> v)
    {
        var m = Vector128.Min(v.GetLower(), v.GetUpper());
        m = Vector128.Min(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Min(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }

    /// <summary>Per lane, the key at <paramref name="rank"/> in the sorted tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> KeysAt(Vector256<int>* tile, Vector256<int> rank) =>
        Gather((int*)tile, (rank << 3) + Lanes);

    /// <summary>
    /// Per lane, the q sum of the rows whose keys are at most <paramref name="pivot"/>: the running sum up to and
    /// including the pivot's rank, since the keys are distinct.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> MassAtOrBelow(ReadOnlySpan<Vector256<int>> keys, ReadOnlySpan<Vector256<int>> units, Vector256<int> pivot)
    {
        // A pivot is a finite value's key, below int.MaxValue, so pivot + 1 does not wrap.
        var above = pivot + Vector256<int>.One;
        var sum0 = Vector256<int>.Zero;
        var sum1 = Vector256<int>.Zero;
        ref var key = ref MemoryMarshal.GetReference(keys);
        ref var unit = ref MemoryMarshal.GetReference(units);
        var n = keys.Length;
        var r = 0;
        for (; r + 4 <= n; r += 4)
        {
            sum0 += Vector256.GreaterThan(above, Unsafe.Add(ref key, r)) & Unsafe.Add(ref unit, r);
            sum1 += Vector256.GreaterThan(above, Unsafe.Add(ref key, r + 1)) & Unsafe.Add(ref unit, r + 1);
            sum0 += Vector256.GreaterThan(above, Unsafe.Add(ref key, r + 2)) & Unsafe.Add(ref unit, r + 2);
            sum1 += Vector256.GreaterThan(above, Unsafe.Add(ref key, r + 3)) & Unsafe.Add(ref unit, r + 3);
        }
        for (; r < n; r++) sum0 += Vector256.GreaterThan(above, Unsafe.Add(ref key, r)) & Unsafe.Add(ref unit, r);
        return sum0 + sum1;
    }

    /// <summary>Lanes whose running sum <paramref name="sum"/> lies within rounding of the crossing bar or of the edge of
    /// the take-the-mean band.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Fragile(Vector256<double> sum, in PickBars bars) =>
        Vector256.LessThanOrEqual(Vector256.Abs(sum - bars.Threshold64), bars.Tolerance64)
        | Vector256.LessThanOrEqual(Vector256.Abs(Vector256.Abs(sum - bars.Half64) - bars.Eps64), bars.Tolerance64);

    /// <summary>Per lane, the float64 running sum up to the pivot's rank, summed in row order (lanes 0-3, 4-7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Vector256<double> Low, Vector256<double> High) WeightAtOrBelow(ReadOnlySpan<Vector256<int>> keys, double* weights, Vector256<int> pivot)
    {
        var above = pivot + Vector256<int>.One;
        var low = Vector256<double>.Zero;
        var high = Vector256<double>.Zero;
        for (var r = 0; r < keys.Length; r++)
        {
            var taken = Vector256.GreaterThan(above, keys[r]);
            var w = Vector256.Create(weights[r]);
            low += Vector256.WidenLower(taken).AsDouble() & w;
            high += Vector256.WidenUpper(taken).AsDouble() & w;
        }
        return (low, high);
    }

    /// <summary>
    /// Writes the eight columns from <paramref name="c"/> given each lane's searched rank: lanes whose pick is
    /// certain, whose group holds no other key and that take no mean read their value with one gather; the rest
    /// settle their decisions in float64 and take the scalar <see cref="Finish"/> or the exact path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Finish8(
        float* dp, int* rp, ref float data, int[] rows, nint stride, int c, Vector256<int>* tp, Span<Vector256<int>> tile,
        ReadOnlySpan<Vector256<int>> keys, bool windowed, Vector256<int> sum, double* wp, int n, int rowMask,
        Vector256<int> rank, in PickBars bars, ColumnTarget target, CombineJob exact)
    {
        var key = KeysAt(tp, rank);
        var crossed = Vector256.GreaterThan(sum, bars.Crossed - Vector256<int>.One);
        var distance = Vector256.Abs(sum - bars.Half);
        var flat = Vector256.GreaterThan(distance, bars.AverageMargin);
        var sure = crossed & flat;
        var exactLanes = Vector256<int>.Zero;
        var averageLanes = Vector256<int>.Zero;
        if (sure != Vector256<int>.AllBitsSet)
        {
            var (low, high) = WeightAtOrBelow(keys, wp, key);
            var crossed64 = Vector256.Narrow(
                Vector256.GreaterThanOrEqual(low, bars.Threshold64).AsInt64(), Vector256.GreaterThanOrEqual(high, bars.Threshold64).AsInt64()).AsInt32();
            var average64 = Vector256.Narrow(
                Vector256.LessThanOrEqual(Vector256.Abs(low - bars.Half64), bars.Eps64).AsInt64(),
                Vector256.LessThanOrEqual(Vector256.Abs(high - bars.Half64), bars.Eps64).AsInt64()).AsInt32();
            // A sum within rounding of the bar or of the band's edge decides as the reference's arithmetic
            // rounds (q = p / sum p, summed in sorted order): the exact path does that.
            var fragile = Vector256.Narrow(
                Fragile(low, bars).AsInt64(), Fragile(high, bars).AsInt64()).AsInt32();
            // A sure lane keeps the fixed-point decisions (crossed, no mean); the last rank has no next value.
            exactLanes = ~sure & (~crossed64 | fragile);
            averageLanes = ~sure & ~fragile & average64 & Vector256.LessThan(rank, bars.LastRank);
        }

        // A neighbour in the picked key's group may be a distinct value the keys misorder.
        var group = key & Vector256.Create(~rowMask);
        var previous = KeysAt(tp, Vector256.Max(rank - Vector256<int>.One, Vector256<int>.Zero));
        var next = KeysAt(tp, Vector256.Min(rank + Vector256<int>.One, bars.LastRank));
        var mixed = (Vector256.Equals(previous & Vector256.Create(~rowMask), group) & Vector256.GreaterThan(rank, Vector256<int>.Zero)) |
            (Vector256.Equals(next & Vector256.Create(~rowMask), group) & Vector256.LessThan(rank, bars.LastRank));
        if ((mixed | averageLanes | exactLanes) != Vector256<int>.Zero)
        {
            // A column of one value has it as its weighted median at any rank, and as the mean of any two: its
            // lanes skip the float64 decisions, the group walk and the exact path. Every cell of such a column
            // shares one key group, so without this a model of frozen weights took the slow path in every lane.
            var uniform = UniformLanes(ref data, rows, stride, c, n);
            mixed &= ~uniform;
            averageLanes &= ~uniform;
            exactLanes &= ~uniform;
        }

        var row = Gather(rp, key & Vector256.Create(rowMask));
        var at = row * Vector256.Create((int)stride) + Vector256.Create(c) + Lanes;
        var picked = Gather(dp, at);
        // A group of neighbours that all hold the picked value orders as the reference does (equal values by row):
        // the pick stands. One value with a few attackers (a frozen weight some domains corrupt) is such a column.
        if ((mixed & ~averageLanes & ~exactLanes) != Vector256<int>.Zero)
            mixed &= ~GroupHoldsOnlyThePick(keys, ref data, rows, stride, c, group, picked, rowMask);
        var slow = (mixed | averageLanes | exactLanes).ExtractMostSignificantBits();
        var (valueLow, valueHigh) = Vector256.Widen(picked);
        if (slow == 0)
        {
            target.WriteFinite8(c, valueLow, valueHigh);
            return;
        }
        // The scalar finish walks key groups beyond the ranks the partial sort ordered.
        if (windowed) SortAll(tile, keys);
        else if (tile.Length > 8) ColumnSortNetwork.CompleteMerge(tile);
        Span<double> values = stackalloc double[8];
        valueLow.CopyTo(values);
        valueHigh.CopyTo(values[4..]);
        var toExact = exactLanes.ExtractMostSignificantBits();
        var averaged = averageLanes.ExtractMostSignificantBits();
        exact.CountGroupWalks(BitOperations.PopCount(slow & ~toExact));
        for (var lane = 0; lane < 8; lane++)
        {
            if ((slow >> lane & 1) == 0 || (toExact >> lane & 1) != 0) continue;
            var value = Finish(ref data, rows, stride, c, lane, tile, n, rowMask, rank.GetElement(lane), (averaged >> lane & 1) != 0);
            if (value is double x) values[lane] = x;
            else toExact |= 1u << lane;
        }
        if (toExact == 0)
        {
            target.WriteFinite8(c, Vector256.Create((ReadOnlySpan<double>)values), Vector256.Create((ReadOnlySpan<double>)values[4..]));
            return;
        }
        for (var lane = 0; lane < 8; lane++)
        {
            if ((toExact >> lane & 1) != 0) exact.RunExact(c + lane, c + lane + 1, target);
            else target.Write(c + lane, values[lane]);
        }
    }

    /// <summary>
    /// The picked value of column <c>c + lane</c> (the mean with the next value when <paramref name="average"/>),
    /// or null when the picked cell's key group mixes distinct values and the lane must take the exact path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        if (!average) return value;
        if (next > rank + 1)
        {
            // The next cell is an equal value, but maybe the other zero: the mean of -0 and +0 is +0.
            var twin = Unsafe.Add(ref keys, (rank + 1) * 8 + lane);
            return ((double)value + Value(ref data, rows, stride, c + lane, twin & rowMask)) / 2.0;
        }
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

    /// <summary>
    /// Sorts the whole tile again from the keys in row order, for the lanes that walk key groups beyond the band a
    /// selection network sorted (a window's other rows hold keys out of order, or copies: the network moves keys
    /// through them). A few columns in a thousand come here, so the plain bitonic sort does, and it runs after the
    /// full window too, whose tile is sorted already, rather than tracking which window ran.
    /// </summary>
    private static void SortAll(Span<Vector256<int>> tile, ReadOnlySpan<Vector256<int>> keys)
    {
        keys.CopyTo(tile);
        tile[keys.Length..].Fill(Vector256.Create(int.MaxValue));
        ColumnSortNetwork.SortRuns(tile, tile.Length);
    }

    /// <summary>The lanes of the eight columns from <paramref name="c"/> whose rows all hold the same finite value,
    /// bit for bit (-0 and +0 differ: a column mixing them is not one value for the mean).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> UniformLanes(ref float data, int[] rows, nint stride, int c, int n)
    {
        var first = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[0] * stride + c));
        var bits = first.AsInt32();
        var same = Vector256.Equals(first - first, Vector256<float>.Zero).AsInt32();
        for (var r = 1; r < n && same != Vector256<int>.Zero; r++)
            same &= Vector256.Equals(Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c)).AsInt32(), bits);
        return same;
    }

    /// <summary>The lanes in which every cell of the picked key's group (<paramref name="group"/>: the key's high bits)
    /// equals the picked value, <paramref name="picked"/>; <paramref name="keys"/> in row order. Equal, not the same
    /// bits: -0 and +0 are one value in the reference's (value, row) order, which orders them by row as the keys do,
    /// so a group of zeros of both signs orders as there, and the picked cell's own sign is the reference's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> GroupHoldsOnlyThePick(
        ReadOnlySpan<Vector256<int>> keys, ref float data, int[] rows, nint stride, int c, Vector256<int> group, Vector256<float> picked, int rowMask)
    {
        var high = Vector256.Create(~rowMask);
        var other = Vector256<int>.Zero;
        for (var r = 0; r < keys.Length; r++)
        {
            var inGroup = Vector256.Equals(keys[r] & high, group);
            var value = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c));
            other |= inGroup & ~Vector256.Equals(value, picked).AsInt32();
        }
        return ~other;
    }

    /// <summary>Row position <paramref name="r"/>'s key for the eight columns from <paramref name="c"/> on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Key(ref float data, int[] rows, nint stride, int c, int r, Vector256<int> magnitude) =>
        KeyOf(Vector256.LoadUnsafe(ref Unsafe.Add(ref data, rows[r] * stride + c)), r, magnitude);

    /// <summary>The key of row position <paramref name="r"/>'s values <paramref name="v"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> KeyOf(Vector256<float> v, int r, Vector256<int> magnitude) =>
        OrderedKeys.WithRow(v, magnitude, Vector256.Create(r));

    /// <summary>The eight ints at <paramref name="origin"/>[<paramref name="index"/>]: one AVX2 gather, or eight loads
    /// where there is none (Arm64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Gather(int* origin, Vector256<int> index) => Avx2.IsSupported
        ? Avx2.GatherVector256(origin, index, 4)
        : Vector256.Create(origin[index.GetElement(0)], origin[index.GetElement(1)], origin[index.GetElement(2)], origin[index.GetElement(3)],
            origin[index.GetElement(4)], origin[index.GetElement(5)], origin[index.GetElement(6)], origin[index.GetElement(7)]);

    /// <summary>The eight floats at <paramref name="origin"/>[<paramref name="index"/>], as the ints' gather (the same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gather(float* origin, Vector256<int> index) => Gather((int*)origin, index).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Value(ref float data, int[] rows, nint stride, int column, int position) =>
        Unsafe.Add(ref data, rows[position] * stride + column);
}
