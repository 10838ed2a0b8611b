using System.Runtime.CompilerServices;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>One Combine call's inputs, shared by the parallel chunks; picks the kernel per chunk.</summary>
/// <remarks>
/// With a <paramref name="signal"/> the rows were not scanned: every path must notice a non-finite cell it reads.
/// The weighted sum turns one into a non-finite value (<see cref="ColumnTarget.Write"/> raises the signal), the
/// trimmed mean's fast lanes send such columns to the exact path, and the exact path checks the cells it gathers.
/// The median kernels, whose networks would drop an extreme cell unseen, check the bounds of each column's keys.
/// Once the signal is raised, the chunks not yet started are skipped: the round will be redone.
/// </remarks>
internal sealed class CombineJob(
    DomainBatch batch, int[] rows, double[] weights, AggregationMethod method, double trimAlpha, bool missingAsZero,
    bool useFastKernels, NonFiniteSignal? signal = null, SelectionLanes selectionLanes = SelectionLanes.Vector256Ints,
    int selectionBlockScale = 1)
{
    /// <summary>Raised when a non-finite cell is read (rows not scanned), else null.</summary>
    public NonFiniteSignal? Signal => signal;

    /// <summary>Most values a selection kernel keeps per end (k + 1); beyond it sorting wins.</summary>
    public const int MaxSelection = 32;

    private readonly int trimCount = ExactColumnRules.TrimCount(trimAlpha, rows.Length);

    private readonly bool medianOfEqualWeights = method == AggregationMethod.WeightedMedian && EqualWeights.MakeWeightedMedianTheMedian(weights);

    private readonly double weightTotal = Total(weights);

    /// <summary>
    /// Whether the weights' total lies where the weighted-sum kernels (the mean, the trimmed mean) keep the reference's
    /// values: they multiply the raw weights, w x, and divide by the total at the end, where the reference divides
    /// first (q = w / total). A total up to 1e150 keeps every w x (|x| at most float's largest, 3.4e38) and their sum
    /// finite, and one from 1e-150 on keeps the subnormal products' rounding (2.5e-324 each) far below the tolerance
    /// once divided. Beyond (a direct caller's raw weights: the engine's p sum to 1), w = 1e308 made w x infinite,
    /// 5e-324 kept a few bits of it, and a total past double's largest gave 0 where the reference's q are all 0: the
    /// exact path computes as the reference does. The trimmed mean's bound is lower still
    /// (<see cref="TrimmedMeanKernel.LargestFloatMass"/>).
    /// </summary>
    private bool WeightsScaleTheSums(double largestTotal) => weightTotal >= SmallestScalingTotal && weightTotal <= largestTotal;

    private const double SmallestScalingTotal = 1e-150;

    private const double LargestScalingTotal = 1e150;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Total(ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights) total += w;
        return total;
    }

    private int exactColumns;

    /// <summary>Columns combined on the exact path so far: the ones no fast kernel serves, the scalar tails, and the
    /// columns a fast kernel handed over (ties at a threshold, non-finite cells, sums that could miss §13's tolerance).
    /// A fast kernel that hands over plain columns stays correct and only gets slow; the tests watch this count.</summary>
    public int ExactColumns => Volatile.Read(ref exactColumns);

    private int groupWalkedColumns;

    private int equalWeightColumns;

    /// <summary>Weighted-median columns the median kernel served because every weight is equal (see
    /// <see cref="EqualWeights"/>); the tests check that such calls take that path.</summary>
    public int EqualWeightColumns => Volatile.Read(ref equalWeightColumns);

    /// <summary>Columns the weighted median kernel finished by its scalar walk of a key group (a pick among keys its
    /// order cannot settle, a mean to take): a few in a thousand on real data. Counted for the same reason as
    /// <see cref="ExactColumns"/>: a kernel that walked every column would be right and several times slower.</summary>
    public int GroupWalkedColumns => Volatile.Read(ref groupWalkedColumns);

    /// <summary>Counts <paramref name="columns"/> more for <see cref="GroupWalkedColumns"/>.</summary>
    internal void CountGroupWalks(int columns)
    {
        if (columns > 0) Interlocked.Add(ref groupWalkedColumns, columns);
    }

    /// <summary>Combines columns [c0, c1); returns how many were empty.</summary>
    public int Run(int c0, int c1, ColumnTarget target)
    {
        if (signal is { Raised: true }) return 0;
        if (useFastKernels && batch.Mask is null && rows.Length > 0)
        {
            var n = rows.Length;
            var plainMean = method == AggregationMethod.Mean ||
                (method == AggregationMethod.TrimmedMean && (trimCount == 0 || n == 1));
            if (plainMean && WeightsScaleTheSums(LargestScalingTotal))
            {
                return WeightedSumKernel.Run(batch, rows, weights, c0, c1, target);
            }
            if (method == AggregationMethod.TrimmedMean && !plainMean && WeightsScaleTheSums(TrimmedMeanKernel.LargestFloatMass) && trimCount + 1 <= MaxSelection)
            {
                return TrimmedMeanKernel.Run(batch, rows, weights, trimCount, c0, c1, target, this, selectionLanes, selectionBlockScale);
            }
            if (medianOfEqualWeights && n <= MedianKernel.MaxRows)
            {
                // With an even count, equal weights put every pick on S/2, which the weighted median kernel settles
                // by a float64 sum per column (about 2.2 times its time with varied weights); the median kernel,
                // with no weights to carry, reads the same value.
                Interlocked.Add(ref equalWeightColumns, c1 - c0);
                MedianKernel.Run(batch, rows, c0, c1, target, this);
                return 0;
            }
            if (method == AggregationMethod.WeightedMedian && n <= WeightedMedianKernel.MaxRows && WeightedMedianKernel.IsSupported)
            {
                WeightedMedianKernel.Run(batch, rows, weights, c0, c1, target, this);
                return 0;
            }
            if (method == AggregationMethod.Median && n <= MedianKernel.MaxRows)
            {
                MedianKernel.Run(batch, rows, c0, c1, target, this);
                return 0;
            }
        }
        return RunExact(c0, c1, target);
    }

    /// <summary>The exact path over columns [c0, c1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int RunExact(int c0, int c1, ColumnTarget target)
    {
        Interlocked.Add(ref exactColumns, c1 - c0);
        const int block = 32;
        var n = rows.Length;
        var scratch = ColumnScratch.ForThread(n, block);
        var empty = 0;
        for (var b = c0; b < c1; b += block)
        {
            var width = Math.Min(block, c1 - b);
            ColumnGather.Block(batch, rows, missingAsZero, b, width, scratch);
            for (var c = 0; c < width; c++)
            {
                var count = scratch.Counts[c];
                if (signal is not null && !RowKernels.AllFinite(scratch.Values.AsSpan(c * n, count))) signal.Raise();
                var value = ExactColumnRules.Combine(method, trimAlpha,
                    scratch.Values.AsSpan(c * n, count), scratch.Positions.AsSpan(c * n, count), weights, scratch.Keys);
                empty += target.Write(b + c, value);
            }
        }
        return empty;
    }
}
