using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The cpu trimmed-mean kernel against the exact path on column patterns that stress its two forms: the
/// streamed kernel with each size of its lists (several blocks per chunk, a partial block, a scalar tail) and the
/// tiled kernel (64-column tiles, a partial tile); rows sorted ascending or descending (every row
/// enters a list), ties at the thresholds (the exact fallback), constant columns, values far from zero, and
/// non-finite cells (which must defer to the exact path).
/// </summary>
public sealed class CpuTrimmedMeanKernelTests
{
    public enum Pattern { Random, Ascending, Descending, Ties, Constant, FarFromZero, NonFinite }

    public static TheoryData<Pattern> Patterns => new(Enum.GetValues<Pattern>());

    /// <summary>Every pattern with each <see cref="Selection"/>: eight-column int keys (Vector256) and sixteen columns
    /// as int keys or floats (the AVX-512 selection pass; emulated by the runtime where the machine has no
    /// AVX-512).</summary>
    public static TheoryData<Pattern, Selection> PatternsAndWidths =>
        new(Enum.GetValues<Pattern>().SelectMany(p => Enum.GetValues<Selection>().Select(selection => (p, selection))));

    [Theory]
    [MemberData(nameof(PatternsAndWidths))]
    public void Streamed_selection_equals_the_exact_path(Pattern pattern, Selection selection)
    {
        // Lists of seven (k = 6: 14 rows, the fewest it takes, and 60-69 rows around the standard 64, every
        // leftover count 0-7), of eight (k + 1 = 2 to 8, from 16 rows on), of sixteen (k + 1 = 9 to 16, from 32)
        // and of thirty-two (k + 1 = 17 to 32, from 64).
        foreach (var (count, alpha, k) in new[]
        {
            (14, 0.45, 6), (20, 0.3, 6), (23, 0.3, 6), (60, 0.1, 6), (63, 0.1, 6), (64, 0.1, 6), (65, 0.1, 6), (69, 0.1, 6),
            (16, 0.2, 3), (33, 0.1, 3), (41, 0.05, 2), (50, 0.1, 5), (17, 0.47, 7), (79, 0.1, 7),
            (32, 0.3, 9), (80, 0.1, 8), (90, 0.1, 9), (121, 0.1, 12), (159, 0.1, 15),
            (64, 0.3, 19), (64, 0.45, 28), (96, 0.33, 31), (170, 0.1, 17), (203, 0.1, 20),
        })
        {
            Assert.Equal(k, (int)Math.Floor(alpha * count));
            Check(pattern, count, alpha, 2900 + (count % 7), selection);
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Tiled_selection_equals_the_exact_path(Pattern pattern)
    {
        // The tiled kernel: fewer rows than twice the streamed lists (13 rows at k + 1 = 2, 19 at 9, 40 at 19, 63 at
        // 31; k + 1 = 33 is beyond the selection kernels and takes the exact path; k = 0 is the plain weighted
        // mean's kernel).
        foreach (var (count, alpha) in new[] { (5, 0.2), (7, 0.3), (13, 0.1), (19, 0.45), (40, 0.45), (63, 0.49), (70, 0.46) })
            Check(pattern, count, alpha, 300 + count % 5);
    }

    [Theory]
    [InlineData(ReptileRule.Interpolate)]
    [InlineData(ReptileRule.Delta)]
    public void Fused_step_of_the_streamed_kernel_equals_the_exact_path(ReptileRule rule)
    {
        var seed = TestSeed.Next();
        var batch = Make(Pattern.Random, new Random(seed), 64, 2051);
        var rows = Enumerable.Range(0, 64).ToArray();
        var weights = Weights(new Random(seed + 1), rows.Length);
        using var fast = new CpuBackend(maxDegreeOfParallelism: 1);
        using var exact = new CpuBackend(maxDegreeOfParallelism: 1) { UseFastKernels = false };
        // Some prior cells NaN (columns the prior lacks: adopted, or started from 0 by the delta rule).
        var priorExpected = Enumerable.Range(0, batch.Columns).Select(c => c % 37 == 5 ? float.NaN : (float)Math.Sin(c)).ToArray();
        var priorActual = (float[])priorExpected.Clone();
        var step = new ReptileStep(rule, 0.1);
        exact.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false, default, priorExpected, step);
        fast.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false, default, priorActual, step);
        for (var c = 0; c < batch.Columns; c++)
            Assert.True(Close(priorExpected[c], priorActual[c]), $"seed {seed}, column {c}: {priorActual[c]} vs {priorExpected[c]}");
    }

    /// <summary>
    /// Kept values that cancel (<see cref="BatchScenario.SpreadPairs"/>, equal weights): each column's trimmed mean
    /// is near a small centre while its terms are ten thousand times larger, so float32 sums would miss §13's
    /// tolerance several times over; the kernel must find those columns and sum them in float64 or exactly.
    /// </summary>
    [Theory]
    [InlineData(64, 0.1, null)] // streamed, lists of seven
    [InlineData(40, 0.1, ReptileRule.Interpolate)] // streamed, lists of eight, fused step
    [InlineData(100, 0.3, null)] // streamed, lists of thirty-two
    [InlineData(13, 0.2, null)] // tiled
    [InlineData(13, 0.2, ReptileRule.Delta)]
    public void Values_that_cancel_keep_the_tolerance(int n, double alpha, ReptileRule? rule)
    {
        var seed = TestSeed.Next();
        const int d = 1031;
        var batch = BatchScenario.SpreadPairs.Make(seed, n, d);
        var step = rule is { } r ? new ReptileStep(r, 0.3) : (ReptileStep?)null;
        var (expected, actual) = FastAndExactCombine.Run(batch, AggregationMethod.TrimmedMean, alpha, step);
        for (var c = 0; c < d; c++)
        {
            Assert.True(Math.Abs(expected[c] - actual[c]) <= 1e-4 + 1e-4 * Math.Abs(expected[c]),
                $"seed {seed}, {n} rows, alpha={alpha}, {rule}, column {c}: {actual[c]} vs {expected[c]}");
        }
    }

    /// <summary>
    /// The streamed kernel keeps |x - c| &lt;= h around the thresholds' midpoint c. A trimmed value one float32 step
    /// from a threshold, with the thresholds far apart, rounds to the same x - c as the threshold: it must still be
    /// left out (the column goes to the exact path), on either side.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_trimmed_value_one_step_beyond_a_threshold_is_not_kept(bool high)
    {
        const int n = 16, d = 8; // k = 1 at trim_alpha 0.1: lists of eight, streamed
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d);
        for (var c = 0; c < d; c++)
        {
            // Thresholds 1 and 1e4 (-1e4 and -1 for the high side): the trimmed value next to the threshold of
            // least magnitude, whose distance from c rounds as the threshold's does; the other trimmed value far
            // out; the rest between.
            var sign = high ? -1f : 1f;
            var column = new List<float> { sign, sign * 1e4f, sign * MathF.BitDecrement(1f), sign * 5e4f };
            while (column.Count < n) column.Add(sign * (1f + 9998f * rng.NextSingle()));
            var order = column.OrderBy(_ => rng.Next()).ToArray();
            for (var r = 0; r < n; r++) batch.Row(r)[c] = order[r];
        }
        batch.MarkChanged();
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = Weights(rng, n);
        using var fast = new CpuBackend(maxDegreeOfParallelism: 1);
        using var exact = new CpuBackend(maxDegreeOfParallelism: 1) { UseFastKernels = false };
        var expected = new float[d];
        var actual = new float[d];
        exact.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false, expected, default, null);
        fast.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false, actual, default, null);
        for (var c = 0; c < d; c++)
            Assert.True(Close(expected[c], actual[c]), $"seed {seed}, high {high}, column {c}: {actual[c]} vs {expected[c]}");
    }

    /// <summary>
    /// The sixteen-column lanes compute every column as the eight-column ones do, in the same order: the same
    /// float32 bits, for the plain and the fused round (pass 2's Vector512 loop and its eight-column tail rows).
    /// </summary>
    [Theory]
    [InlineData(64, null)]
    [InlineData(69, null)]
    [InlineData(40, ReptileRule.Interpolate)]
    [InlineData(90, ReptileRule.Delta)]
    public void Sixteen_column_lanes_give_the_eight_column_results_bit_for_bit(int n, ReptileRule? rule)
    {
        const int d = 2 * 256 + 16 * 3 + 8 + 5; // whole blocks, a partial one, an eight-column part and a tail
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = Make(Pattern.Random, rng, n, d);
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = Weights(rng, n);
        var prior = Enumerable.Range(0, d).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var step = rule is { } r ? new ReptileStep(r, 0.3) : (ReptileStep?)null;
        float[] Run(Selection selection)
        {
            using var backend = new CpuBackend(maxDegreeOfParallelism: 1) { SelectionLanes = selection.Lanes() };
            var aggregate = new float[d];
            var stepped = prior.ToArray();
            backend.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false,
                step is null ? aggregate : default, step is null ? default : stepped, step);
            return step is null ? aggregate : stepped;
        }
        var narrow = Run(Selection.Vector256);
        foreach (var selection in new[] { Selection.Vector512Ints, Selection.Vector512Floats })
        {
            var wide = Run(selection);
            for (var c = 0; c < d; c++)
                Assert.True(BitConverter.SingleToInt32Bits(narrow[c]) == BitConverter.SingleToInt32Bits(wide[c]),
                    $"seed {seed}, {n} rows, {selection}, column {c}: {wide[c]} vs {narrow[c]}");
        }
    }

    /// <summary>
    /// Blocks four times the lists' L1-sized width (the selection pass's choice on Zen 4, <c>SelectionBlocks</c>)
    /// compute every column as the narrow blocks do: the same float32 bits for each size of lists and each lane
    /// width, over chunks of several wide blocks, a partial one, an eight-column part and a scalar tail, with ties
    /// (columns handed to the exact path) and the fused step.
    /// </summary>
    [Theory]
    [InlineData(64, 0.1, Selection.Vector256, Pattern.Random, null)] // lists of seven
    [InlineData(64, 0.1, Selection.Vector512Ints, Pattern.Ties, null)]
    [InlineData(69, 0.1, Selection.Vector512Floats, Pattern.Random, ReptileRule.Interpolate)]
    [InlineData(79, 0.1, Selection.Vector512Ints, Pattern.Random, null)] // lists of eight
    [InlineData(90, 0.1, Selection.Vector256, Pattern.Ties, ReptileRule.Delta)] // lists of sixteen
    [InlineData(64, 0.3, Selection.Vector512Floats, Pattern.Random, null)] // lists of thirty-two
    public void Wide_blocks_give_the_narrow_blocks_results_bit_for_bit(int n, double alpha, Selection selection, Pattern pattern, ReptileRule? rule)
    {
        // One worker takes chunks of a quarter of D: 2,304 columns, two wide blocks of 1,024 (lists of seven and
        // eight), four of 512 (sixteen) or nine of 256 (thirty-two), with a partial one where they do not divide it.
        const int d = 4 * 2304 - 16 * 3 - 8 - 5;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = Make(pattern, rng, n, d);
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = Weights(rng, n);
        var prior = Enumerable.Range(0, d).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        var step = rule is { } r ? new ReptileStep(r, 0.3) : (ReptileStep?)null;
        float[] Run(int scale)
        {
            using var backend = new CpuBackend(maxDegreeOfParallelism: 1) { SelectionLanes = selection.Lanes(), SelectionBlockScale = scale };
            var aggregate = new float[d];
            var stepped = prior.ToArray();
            backend.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, alpha, false,
                step is null ? aggregate : default, step is null ? default : stepped, step);
            return step is null ? aggregate : stepped;
        }
        var narrow = Run(1);
        var wide = Run(4);
        for (var c = 0; c < d; c++)
            Assert.True(BitConverter.SingleToInt32Bits(narrow[c]) == BitConverter.SingleToInt32Bits(wide[c]),
                $"seed {seed}, {n} rows, alpha {alpha}, {selection}, {pattern}, {rule}, column {c}: {wide[c]} vs {narrow[c]}");
    }

    private static void Check(Pattern pattern, int count, double alpha, int d, Selection selection = Selection.Vector256)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var n = count + 2;
        var batch = Make(pattern, rng, n, d);
        // Drop two rows so the kernel sees a sparse, ascending row list.
        var rows = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(count).Order().ToArray();
        var weights = Weights(rng, rows.Length);
        // One worker: the chunks are a quarter of D, so the 2.9k-column batches give chunks of several blocks.
        using var fast = new CpuBackend(maxDegreeOfParallelism: 1) { SelectionLanes = selection.Lanes() };
        using var exact = new CpuBackend(maxDegreeOfParallelism: 1) { UseFastKernels = false };
        var expected = new float[d];
        var actual = new float[d];
        var emptyExpected = exact.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, alpha, false, expected, default, null);
        var emptyActual = fast.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, alpha, false, actual, default, null);
        Assert.True(emptyExpected == emptyActual, $"seed {seed}, {pattern}, {count} rows: {emptyActual} empty columns, expected {emptyExpected}");
        for (var c = 0; c < d; c++)
        {
            Assert.True(Close(expected[c], actual[c]),
                $"seed {seed}, {pattern}, {count} rows, alpha={alpha}, lanes={selection}, column {c}: {actual[c]} vs {expected[c]}");
        }
    }

    private static bool Close(float expected, float actual) =>
        float.IsNaN(expected) ? float.IsNaN(actual) :
        expected == actual || Math.Abs(expected - actual) <= 1e-5 + 1e-5 * Math.Abs(expected);

    private static double[] Weights(Random rng, int count)
    {
        var weights = Enumerable.Range(0, count).Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var total = weights.Sum();
        for (var i = 0; i < weights.Length; i++) weights[i] /= total;
        return weights;
    }

    private static DomainBatch Make(Pattern pattern, Random rng, int n, int d)
    {
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            batch.Ids[r] = $"d{r:D4}";
            batch.Confidences[r] = 0.5;
            var row = batch.Row(r);
            for (var c = 0; c < d; c++)
            {
                row[c] = pattern switch
                {
                    Pattern.Ascending => r + 0.01f * (c % 17),
                    Pattern.Descending => -r * 0.5f + 0.01f * (c % 13),
                    // Four values over all rows: ties across both trim boundaries in nearly every column.
                    Pattern.Ties => rng.Next(4) * 0.25f,
                    Pattern.Constant => 0.5f + c % 3,
                    Pattern.FarFromZero => 1000f + 0.01f * rng.NextSingle(),
                    _ => (float)Math.Sin(c * 0.01) + rng.NextSingle() - 0.5f,
                };
            }
        }
        if (pattern == Pattern.NonFinite)
        {
            // A few unmasked non-finite cells; every other column random.
            for (var i = 0; i < 12; i++)
            {
                var value = (i % 3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
                batch.Row(rng.Next(n))[rng.Next(d)] = value;
            }
        }
        batch.MarkChanged();
        return batch;
    }
}
