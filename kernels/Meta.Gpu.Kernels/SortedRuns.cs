using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>
/// One thread's column as ascending runs of <see cref="RunLength"/> floats in shared memory, written by
/// <see cref="ExtremeListNetwork.SortRuns{TCells}"/> (<see cref="Sort"/>; place p at
/// p x <see cref="Stride"/> + the thread's lane; +inf pads the last run). Counts come from a binary search
/// in each run (six loads), and a rank from a bisection over the float values between bounds the runs give, until
/// one cell lies between, so a rank costs 6 x runs loads a step and no sort of the whole column. Cells must be
/// finite.
/// </summary>
/// <remarks>Kernels over sorted runs (<see cref="SortedRunsMedianKernel"/>, <see cref="SortedRunsTrimmedMeanKernel"/>)
/// are explicitly grouped (<see cref="Launch"/>): a group of up to 32 threads holds 32 columns' runs, 256 x 32 floats
/// (32 KB, under the 48 KB a kernel may hold without asking). The threads share no data, so there is no
/// barrier.</remarks>
public readonly struct SortedRuns
{
    /// <summary>Most cells a column may hold: eight runs, the searches <see cref="CountAll"/> writes out.</summary>
    public const int MaxRows = 256;

    /// <summary>Cells in a run: the width of <see cref="ExtremeListNetwork.Sort"/>.</summary>
    public const int RunLength = 32;

    /// <summary>Most threads (columns) per group: the shared array holds this many columns.</summary>
    public const int MaxGroupSize = 32;

    /// <summary>Floats of the shared array a group allocates once (each call site of Allocate is its own array).</summary>
    public const int SharedLength = MaxRows * MaxGroupSize;

    /// <summary>Words between a column's consecutive places: the most columns a group holds, a constant even where
    /// the device runs smaller groups, so that every place's address is shifts and adds.</summary>
    internal const int Stride = MaxGroupSize;

    private const int Length = RunLength;

    private readonly ArrayView<float> runs;
    private readonly int lane;

    /// <summary>Runs holding cells: the last may end in pads.</summary>
    private readonly int runCount;

    /// <summary>Runs without pads (at least two: the kernels serve 65 cells or more).</summary>
    private readonly int wholeRuns;

    /// <summary>Sorts the column's cells into the group's shared array (<see cref="SharedLength"/> floats) at the calling
    /// thread's lane; <paramref name="check"/> gains x times 0 of every cell (NaN once one is not finite).</summary>
    internal static SortedRuns Sort<TCells>(in TCells cells, ArrayView<float> shared, ref float check)
        where TCells : struct, IColumnCells
    {
        var sorted = new SortedRuns(shared, Group.IdxX, cells.Count);
        ExtremeListNetwork.SortRuns(cells, shared, Stride, sorted.lane, ref check);
        return sorted;
    }

    private SortedRuns(ArrayView<float> runs, int lane, int count)
    {
        this.runs = runs;
        this.lane = lane;
        runCount = (count + Length - 1) / Length;
        wholeRuns = count / Length;
    }

    /// <summary>One thread per column in groups of <see cref="MaxGroupSize"/>, or of as many as the device allows.</summary>
    public static KernelConfig Launch(int columns, int deviceMaxGroupSize)
    {
        var group = Math.Min(MaxGroupSize, deviceMaxGroupSize);
        return new((columns + group - 1) / group, group);
    }

    /// <summary>The cell at <paramref name="rank"/> (0-based, ascending) of the column: the least float v with more
    /// than <paramref name="rank"/> cells at or below it (-0 where that is a zero: -0 and +0 count alike).</summary>
    internal float ValueAt(int rank)
    {
        // Every run's cell at place p = rank / runs or above it lies at or above the least of them, b, so at most
        // runs x p <= rank cells lie below b; and in the whole runs alone (a pad would make the bound +inf) at
        // least whole x (q + 1) >= rank + 1 lie at or below the largest cell at place q = ceil((rank + 1) / whole)
        // - 1, a. The answer lies in [b, a].
        var least = float.PositiveInfinity;
        var most = float.NegativeInfinity;
        var p = rank / runCount;
        var q = (rank + wholeRuns) / wholeRuns - 1;
        for (var run = 0; run < runCount; run++)
        {
            least = XMath.Min(least, At(run, p));
            most = XMath.Max(most, run < wholeRuns ? At(run, q) : float.NegativeInfinity);
        }
        // One value there (a frozen or quantised column, most often) is the answer.
        if (least == most) return most;
        // Invariant: too few cells at or below FromKey(below); enough at or below FromKey(enough). The keys are
        // held in a long: ILGPU 1.5.3 writes an unsigned 32-bit halving as an arithmetic shift (shr.s32), which
        // breaks every span of 2^31 keys or more (any that reaches a +inf pad); a positive long halves right.
        long below = Key(least) - 1L;
        long enough = Key(most);
        var atMostBelow = CountAtMost(FromKey((uint)below));
        var atMostEnough = CountAtMost(FromKey((uint)enough));
        // Only where least is +0: FromKey(below) is -0, and -0 counts the +0 cells too. The answer is a zero.
        if (atMostBelow > rank) return FromKey((uint)below);
        // The bisection halves the keys between, but stops as soon as one cell lies between: that cell is the
        // answer. Values near a middle rank straddling zero span about 2^31 keys, while neighbouring cells lie
        // about 2^20 keys apart: about a dozen steps instead of 31.
        while (enough - below > 1 && atMostEnough - atMostBelow > 1)
        {
            var middle = below + (enough - below) / 2;
            var atMost = CountAtMost(FromKey((uint)middle));
            if (atMost > rank)
            {
                enough = middle;
                atMostEnough = atMost;
            }
            else
            {
                below = middle;
                atMostBelow = atMost;
            }
        }
        return enough - below > 1 ? LeastAbove(FromKey((uint)below)) : FromKey((uint)enough);
    }

    /// <summary>The cell at <paramref name="rank"/>, given the one at rank - 1, <paramref name="previous"/>: the same
    /// value where more than <paramref name="rank"/> cells lie at or below it, else the least cell above it.</summary>
    internal float Successor(float previous, int rank) => CountAtMost(previous) > rank ? previous : LeastAbove(previous);

    /// <summary>The least cell above <paramref name="bound"/> (+inf where none is): the least of each run's first
    /// cell past it.</summary>
    private float LeastAbove(float bound)
    {
        var least = float.PositiveInfinity;
        for (var run = 0; run < runCount; run++)
        {
            var count = Count(run, bound, atMost: true);
            least = XMath.Min(least, count < Length ? At(run, XMath.Min(count, Length - 1)) : float.PositiveInfinity);
        }
        return least;
    }

    /// <summary>Cells below <paramref name="bound"/>.</summary>
    internal int CountBelow(float bound) => CountAll(bound, atMost: false);

    /// <summary>Cells at or below <paramref name="bound"/>.</summary>
    internal int CountAtMost(float bound) => CountAll(bound, atMost: true);

    /// <summary>The cells of every run below (at or below) the bound. Written out for the most runs, those past
    /// <c>runCount</c> counted as none: eight searches without a loop between them are eight independent chains of
    /// loads a thread keeps in flight together, where a loop over the runs waits out each chain in turn (a rank
    /// takes up to about 30 of these counts, about 18 for the slowest column of a warp on the bench's data).</summary>
    private int CountAll(float bound, bool atMost) =>
        Count(0, bound, atMost) + Count(1, bound, atMost) + Count(2, bound, atMost) + Count(3, bound, atMost)
        + Count(4, bound, atMost) + Count(5, bound, atMost) + Count(6, bound, atMost) + Count(7, bound, atMost);

    /// <summary>Cells of <paramref name="run"/> below (at or below, <paramref name="atMost"/>) the bound, 0 for a run
    /// past <c>runCount</c> (its shared words are read, as stale values, and ignored), by a branch-free binary
    /// search: after the halving steps (16, 8, 4, 2, 1) the count is the place reached or one more.</summary>
    private int Count(int run, float bound, bool atMost)
    {
        var place = Before(At(run, 15), bound, atMost) ? 16 : 0;
        place += Before(At(run, place + 7), bound, atMost) ? 8 : 0;
        place += Before(At(run, place + 3), bound, atMost) ? 4 : 0;
        place += Before(At(run, place + 1), bound, atMost) ? 2 : 0;
        place += Before(At(run, place), bound, atMost) ? 1 : 0;
        place += Before(At(run, place), bound, atMost) ? 1 : 0;
        return run < runCount ? place : 0;
    }

    private static bool Before(float x, float bound, bool atMost) => atMost ? x <= bound : x < bound;

    private float At(int run, int place) => runs[(run * Length + place) * Stride + lane];

    /// <summary>The float's place in ascending order as an unsigned integer (-0 just below +0).</summary>
    private static uint Key(float x)
    {
        var bits = Interop.FloatAsInt(x);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    private static float FromKey(uint key) => Interop.IntAsFloat((key & 0x8000_0000u) != 0 ? key & 0x7FFF_FFFFu : ~key);
}
