using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The cpu backend's sorting-network median (order-preserving int keys; groups of eight sorted in registers, then
/// pruned selection networks for 16, 32 and 64 padded rows, or merges and a select of the middle pair from two
/// sorted halves) and its key-sorted weighted median against the exact (value, row) path: the same floats, bit for
/// bit (a zero's sign included), over row counts around every group and power-of-two boundary, column counts with a
/// scalar tail, and the inputs that stress the shortcuts: ties, all-equal columns, sorted rows, ±0, ±inf (equal to
/// the networks' pads), values a few units in the last place apart (the weighted kernel's key groups that mix
/// distinct values), and weights that put the running sum exactly on half the mass.
/// </summary>
public sealed class CpuMedianKernelTests
{
    private static readonly int[] RowCounts =
        [.. Enumerable.Range(1, 17), 23, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256];

    public enum Values { Random, FewLevels, AllEqual, Ascending, Descending, SignedZeros, UlpNeighbours, Infinities }

    public enum Weights { Random, Equal, SmallIntegers }

    [Theory]
    [InlineData(Values.Random)]
    [InlineData(Values.FewLevels)]
    [InlineData(Values.AllEqual)]
    [InlineData(Values.Ascending)]
    [InlineData(Values.Descending)]
    [InlineData(Values.SignedZeros)]
    [InlineData(Values.UlpNeighbours)]
    [InlineData(Values.Infinities)]
    public void Median_and_column_medians_equal_the_exact_path(Values kind)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var n in RowCounts)
        {
            var d = 8 * rng.Next(1, 5) + rng.Next(8);
            var batch = Make(rng, kind, n, d);
            var rows = PickRows(rng, n);
            var weights = rows.Select(_ => 1.0).ToArray();
            AssertCombineSame(exact, fast, batch, rows, weights, AggregationMethod.Median, $"seed {seed}, {kind}, median, n={n} ({rows.Length} rows), d={d}");
            AssertColumnMediansSame(exact, fast, batch, rows, $"seed {seed}, {kind}, column medians, n={n} ({rows.Length} rows)");
        }
    }

    /// <summary>
    /// The selection networks for 16, 32 and 64 padded rows put half the pads below every value, the merge path
    /// for 8 and 128 or more all of them above: every row count through 72, odd and even, on each side.
    /// </summary>
    [Theory]
    [InlineData(Values.Random)]
    [InlineData(Values.FewLevels)]
    [InlineData(Values.Infinities)]
    public void Median_for_every_row_count_through_72_equals_the_exact_path(Values kind)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        for (var n = 1; n <= 72; n++)
        {
            var d = 16 + rng.Next(8);
            var batch = Make(rng, kind, n, d);
            var rows = PickRows(rng, n);
            var weights = rows.Select(_ => 1.0).ToArray();
            AssertCombineSame(exact, fast, batch, rows, weights, AggregationMethod.Median, $"seed {seed}, {kind}, median, n={n} ({rows.Length} rows), d={d}");
            AssertColumnMediansSame(exact, fast, batch, rows, $"seed {seed}, {kind}, column medians, n={n} ({rows.Length} rows)");
        }
    }

    [Theory]
    [InlineData(Values.Random, Weights.Random)]
    [InlineData(Values.Random, Weights.Equal)]
    [InlineData(Values.Random, Weights.SmallIntegers)]
    [InlineData(Values.FewLevels, Weights.Random)]
    [InlineData(Values.FewLevels, Weights.Equal)]
    [InlineData(Values.FewLevels, Weights.SmallIntegers)]
    [InlineData(Values.AllEqual, Weights.Equal)]
    [InlineData(Values.Ascending, Weights.SmallIntegers)]
    [InlineData(Values.Descending, Weights.Equal)]
    [InlineData(Values.SignedZeros, Weights.SmallIntegers)]
    [InlineData(Values.UlpNeighbours, Weights.Random)]
    [InlineData(Values.UlpNeighbours, Weights.Equal)]
    public void Weighted_median_equals_the_exact_path(Values kind, Weights weighting)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var n in RowCounts)
        {
            var d = 8 * rng.Next(1, 5) + rng.Next(8);
            var batch = Make(rng, kind, n, d);
            var rows = PickRows(rng, n);
            // Equal and small integer weights put the running sum exactly on S/2 for many columns (the mean of two).
            var weights = rows.Select(_ => weighting switch
            {
                Weights.Equal => 0.25,
                Weights.SmallIntegers => rng.Next(1, 4),
                _ => 0.05 + rng.NextDouble(),
            }).ToArray();
            AssertCombineSame(exact, fast, batch, rows, weights, AggregationMethod.WeightedMedian, $"seed {seed}, {kind}, {weighting} weights, weighted median, n={n} ({rows.Length} rows), d={d}");
        }
    }

    /// <summary>
    /// The kernels sort blocks of up to 512 columns into a per-thread tile: one worker (parallel chunks of about a
    /// quarter of the columns) and column counts that give each chunk several blocks, with a partial last block and
    /// a scalar tail, and row counts that change the block width between calls on one thread.
    /// </summary>
    [Theory]
    [InlineData(Values.Random)]
    [InlineData(Values.FewLevels)]
    [InlineData(Values.UlpNeighbours)]
    public void Medians_over_several_column_blocks_equal_the_exact_path(Values kind)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend(maxDegreeOfParallelism: 1);
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var n in new[] { 5, 64, 13, 129, 8, 256 })
        {
            var d = 4200 + 8 * rng.Next(20) + rng.Next(8);
            var batch = Make(rng, kind, n, d);
            var rows = PickRows(rng, n);
            var weights = rows.Select(_ => rng.Next(1, 4) * 0.5).ToArray();
            foreach (var method in new[] { AggregationMethod.Median, AggregationMethod.WeightedMedian })
            {
                AssertCombineSame(exact, fast, batch, rows, weights, method, $"seed {seed}, {kind}, {method}, n={n} ({rows.Length} rows), d={d}");
            }
            AssertColumnMediansSame(exact, fast, batch, rows, $"seed {seed}, {kind}, column medians, n={n} ({rows.Length} rows), d={d}");
        }
    }

    /// <summary>Even counts with equal weights land exactly on S/2: the weighted median is the mean of the two middle values.</summary>
    [Fact]
    public void Weighted_median_of_an_even_count_with_equal_weights_is_the_mean_of_the_middle_pair()
    {
        using var fast = new CpuBackend();
        const int n = 64, d = 16;
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        for (var c = 0; c < d; c++)
            batch.Row(r)[c] = (r * 37 + c * 11) % n + c; // a permutation of c .. c + 63 down each column
        var rows = Enumerable.Range(0, n).ToArray();
        var actual = new float[d];
        fast.Combine(batch, rows, Enumerable.Repeat(1.0 / n, n).ToArray(), AggregationMethod.WeightedMedian, 0.1, false, actual, default, null);
        for (var c = 0; c < d; c++) Assert.Equal(c + 31.5f, actual[c]);
    }

    private static int[] PickRows(Random rng, int n) =>
        n < 4 || rng.Next(2) == 0 ? Enumerable.Range(0, n).ToArray() : Enumerable.Range(0, n).Where(_ => rng.Next(6) != 0).ToArray();

    private static DomainBatch Make(Random rng, Values kind, int n, int d)
    {
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < d; c++)
            {
                row[c] = kind switch
                {
                    Values.FewLevels => rng.Next(-2, 3) * 0.5f,
                    Values.AllEqual => 1.25f + c,
                    Values.Ascending => r * 0.5f - c,
                    Values.Descending => -r * 0.5f + c,
                    Values.SignedZeros => rng.Next(3) switch { 0 => 0f, 1 => -0f, _ => rng.Next(-2, 3) },
                    // Neighbours a few ulps apart share the weighted kernel's key high bits but differ in value.
                    Values.UlpNeighbours => Ulps(1.5f + (c % 3), rng.Next(-20, 21)),
                    // The networks' pads are -inf and +inf: equal values must keep the same order statistics.
                    Values.Infinities => rng.Next(4) switch { 0 => float.NegativeInfinity, 1 => float.PositiveInfinity, _ => rng.Next(-2, 3) },
                    _ => (float)(rng.NextDouble() * 4 - 2),
                };
            }
        }
        batch.MarkChanged();
        return batch;
    }

    private static float Ulps(float value, int steps)
    {
        for (var i = 0; i < Math.Abs(steps); i++) value = steps > 0 ? MathF.BitIncrement(value) : MathF.BitDecrement(value);
        return value;
    }

    /// <summary>The exact and the fast backend's <c>Combine</c> of <paramref name="method"/>, float for float.</summary>
    private static void AssertCombineSame(CpuBackend exact, CpuBackend fast, DomainBatch batch, int[] rows, double[] weights,
        AggregationMethod method, string context)
    {
        var expected = new float[batch.Columns];
        var actual = new float[batch.Columns];
        exact.Combine(batch, rows, weights, method, 0.1, false, expected, default, null);
        fast.Combine(batch, rows, weights, method, 0.1, false, actual, default, null);
        AssertSame(expected, actual, context);
    }

    /// <summary>The exact and the fast backend's step-3 <c>ColumnMedians</c>, value for value.</summary>
    private static void AssertColumnMediansSame(CpuBackend exact, CpuBackend fast, DomainBatch batch, int[] rows, string context)
    {
        var expected = new double[batch.Columns];
        var actual = new double[batch.Columns];
        exact.ColumnMedians(batch, rows, false, expected);
        fast.ColumnMedians(batch, rows, false, actual);
        for (var c = 0; c < batch.Columns; c++)
            Assert.True(BitConverter.DoubleToInt64Bits(expected[c]) == BitConverter.DoubleToInt64Bits(actual[c]) || double.IsNaN(expected[c]) && double.IsNaN(actual[c]),
                $"{context}, column {c}: {Signed(actual[c])} vs {Signed(expected[c])}");
    }

    /// <summary>Float for float, where an empty selection's NaN equals NaN.</summary>
    private static void AssertSame(float[] expected, float[] actual, string context)
    {
        for (var c = 0; c < expected.Length; c++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[c]) == BitConverter.SingleToInt32Bits(actual[c]) || float.IsNaN(expected[c]) && float.IsNaN(actual[c]),
                $"{context}, column {c}: {Signed(actual[c])} vs {Signed(expected[c])}");
    }

    /// <summary>The value with the sign of a zero shown.</summary>
    private static string Signed(double value) => value == 0 && double.IsNegative(value) ? "-0" : value.ToString("R");
}
