using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The cpu backend's weighted median kernel decides its picks on fixed-point weights (2^30 units per total) and
/// leaves lanes within a few units of a bar to a float64 sum: weights that put the running sum a hair either side
/// of S/2 − 1e-12·S or inside the take-the-mean band, zero weights, weights over a wide range, totals near the ends
/// of the float64 range, and weights the kernel cannot scale (a zero total) must all give the exact path's
/// floats.
/// </summary>
public sealed class CpuWeightedMedianKernelTests
{
    private static readonly int[] RowCounts = [1, 2, 3, 7, 8, 9, 16, 31, 64, 65, 128, 200, 256];

    public enum Weights { NearHalfAbove, NearHalfBelow, InsideSlack, Zeros, WideRange, Tiny, Huge, AllZero }

    [Theory]
    [InlineData(Weights.NearHalfAbove)]
    [InlineData(Weights.NearHalfBelow)]
    [InlineData(Weights.InsideSlack)]
    [InlineData(Weights.Zeros)]
    [InlineData(Weights.WideRange)]
    [InlineData(Weights.Tiny)]
    [InlineData(Weights.Huge)]
    [InlineData(Weights.AllZero)]
    public void Weighted_median_equals_the_exact_path(Weights weighting)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var n in RowCounts)
        {
            var d = 8 * rng.Next(2, 6) + rng.Next(8);
            var batch = new DomainBatch(n, d);
            for (var r = 0; r < n; r++)
            for (var c = 0; c < d; c++)
                batch.Row(r)[c] = rng.Next(4) == 0 ? rng.Next(-3, 4) * 0.5f : (float)(rng.NextDouble() * 4 - 2);
            batch.MarkChanged();
            var rows = Enumerable.Range(0, n).ToArray();
            var weights = Make(rng, weighting, n);
            var expected = new float[d];
            var actual = new float[d];
            exact.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, expected, default, null);
            fast.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, actual, default, null);
            for (var c = 0; c < d; c++)
            {
                Assert.True(expected[c] == actual[c] || float.IsNaN(expected[c]) && float.IsNaN(actual[c]),
                    $"seed {seed}, {weighting} weights, n={n}, column {c}: {actual[c]} vs {expected[c]}");
            }
        }
    }

    /// <summary>
    /// Equal weights over 64 rows: the pick is the last of 32 equal values and takes the mean with the least value
    /// of the next key group, twenty distinct values a few ulps apart whose least sits on the group's highest row
    /// (the group's last rank 51, since keys within a group order by row), followed by a group of equal values. The
    /// kernel sorts only the ranks around the pick at first (ranks 16-47 here), so its scan of the next group must
    /// see them all sorted.
    /// </summary>
    [Fact]
    public void Weighted_mean_with_the_next_group_sees_the_whole_group()
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        const int n = 64, d = 64;
        var batch = new DomainBatch(n, d);
        for (var c = 0; c < d; c++)
        {
            var order = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
            var middle = order.Skip(32).Take(20).OrderByDescending(r => r).ToArray();
            foreach (var r in order.Take(32)) batch.Row(r)[c] = 1f;
            for (var k = 0; k < middle.Length; k++) batch.Row(middle[k])[c] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(2f) + k);
            foreach (var r in order.Skip(52)) batch.Row(r)[c] = 3f;
        }
        batch.MarkChanged();
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = Enumerable.Repeat(0.5, n).ToArray();
        var expected = new float[d];
        var actual = new float[d];
        exact.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, expected, default, null);
        fast.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, actual, default, null);
        Assert.All(expected, e => Assert.Equal(1.5f, e));
        for (var c = 0; c < d; c++) Assert.True(expected[c] == actual[c], $"seed {seed}, column {c}: {actual[c]} vs {expected[c]}");
    }

    /// <summary>
    /// The kernel keys and sorts one column vector at a time into per-thread buffers that every vector reuses (the
    /// sorted tile, padded to a power of two, and the keys in row order). Row counts with a partial last group of
    /// eight and pads past it (9-15 rows in a tile of 16, 17-23 in 32, 33-47 in 64, 65-100 in 128), one worker,
    /// and column vectors whose values rise steeply from left to right: a key left over from an earlier vector, in
    /// either buffer, would sort below every key of a later one and move its pick.
    /// </summary>
    [Fact]
    public void Later_column_vectors_see_fresh_pads_in_the_reused_tile()
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend(maxDegreeOfParallelism: 1);
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var n in new[] { 9, 12, 17, 20, 33, 36, 40, 41, 47, 65, 100 })
        {
            const int d = 8 * 40 + 5;
            var batch = new DomainBatch(n, d);
            for (var r = 0; r < n; r++)
            for (var c = 0; c < d; c++)
                batch.Row(r)[c] = (float)(1000.0 * (c / 8) + rng.NextDouble());
            batch.MarkChanged();
            var rows = Enumerable.Range(0, n).ToArray();
            var weights = rows.Select(_ => 0.5 + rng.NextDouble()).ToArray();
            var expected = new float[d];
            var actual = new float[d];
            exact.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, expected, default, null);
            fast.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, actual, default, null);
            for (var c = 0; c < d; c++) Assert.True(expected[c] == actual[c], $"seed {seed}, n={n}, column {c}: {actual[c]} vs {expected[c]}");
        }
    }

    public enum Spread { Equal, Mild, Halves, Steep }

    /// <summary>
    /// Columns of signed zeros, negative values a few ulps apart (one key group, so the kernel's group checks
    /// send lanes to the scalar finish, which must see a whole sort), and values on both sides of zero, under
    /// weights whose band of candidate ranks is narrow (equal weights), moderate, wide (heavy and light halves)
    /// or nearly all of the rows (steep weights): each band size has its own partial sort.
    /// </summary>
    [Theory]
    [InlineData(Spread.Equal)]
    [InlineData(Spread.Mild)]
    [InlineData(Spread.Halves)]
    [InlineData(Spread.Steep)]
    public void Signed_zeros_and_close_negatives_under_every_band_width_give_the_exact_floats(Spread spread)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        var near = BitConverter.SingleToInt32Bits(-1.5f);
        foreach (var n in new[] { 13, 16, 24, 31, 32, 50, 64, 100 })
        {
            const int d = 64;
            var batch = new DomainBatch(n, d);
            for (var r = 0; r < n; r++)
            for (var c = 0; c < d; c++)
            {
                batch.Row(r)[c] = rng.Next(5) switch
                {
                    0 => 0f,
                    1 => -0f,
                    2 => BitConverter.Int32BitsToSingle(near + rng.Next(4)),
                    3 => -rng.Next(1, 4) * 0.25f,
                    _ => rng.Next(-2, 3) * 0.5f,
                };
            }
            batch.MarkChanged();
            var rows = Enumerable.Range(0, n).ToArray();
            var weights = Enumerable.Range(0, n).Select(r => spread switch
            {
                Spread.Equal => 0.5,
                Spread.Mild => 0.5 + rng.NextDouble(),
                Spread.Halves => (r % 2 == 0 ? 1.0 : 0.1) * (1 + 0.3 * rng.NextDouble()),
                _ => Math.Pow(1.3, r) * (1 + 0.1 * rng.NextDouble()),
            }).ToArray();
            var expected = new float[d];
            var actual = new float[d];
            exact.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, expected, default, null);
            fast.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, actual, default, null);
            for (var c = 0; c < d; c++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(expected[c]) == BitConverter.SingleToInt32Bits(actual[c]),
                    $"seed {seed}, {spread} weights, n={n}, column {c}: {actual[c]} vs {expected[c]}");
            }
        }
    }

    /// <summary>
    /// Confidences a few 1e-12 apart put the running sum within rounding of S/2 ± 1e-12·S, where the last bits
    /// decide the pick and the averaging (DESIGN §4: every discrete decision as the float64 reference makes it).
    /// The reference renormalises per column (q = p / the column's sum of p) and sums q in sorted order; both cpu
    /// paths summed the raw p and picked 2 where the reference averaged to 2.5, about one such round in 300.
    /// </summary>
    [Fact]
    public void At_the_edges_of_the_half_mass_band_both_paths_decide_as_the_reference()
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var config = new CrossMetaConfig(Method: AggregationMethod.WeightedMedian, OutlierFilter: false, DiversityEntropyTarget: null);
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        // The helper's literal case first: four rows of 1..4, the reference averages the second and third value.
        var literal = new DomainBatch(4, 8);
        double[] nudged = [1, 1.000000000006, 1.000000000003, 0.999999999995];
        for (var r = 0; r < 4; r++)
        {
            literal.Confidences[r] = nudged[r];
            literal.Row(r).Fill(r + 1);
        }
        literal.MarkChanged();
        Assert.Equal(2.5f, CrossDomainMetaAggregator.Aggregate(KeyedUpdates.From(literal), config).Vector[0]);
        AssertDecidesAsTheReference(literal, config, fast, exact, "literal");

        for (var t = 0; t < 1500; t++)
        {
            var n = 2 + rng.Next(7);
            var batch = new DomainBatch(n, 9);
            var heavy = rng.Next(1, n);
            for (var r = 0; r < n; r++)
            {
                batch.Confidences[r] = (r < heavy ? 1.0 : (double)heavy / (n - heavy)) * (1 + rng.Next(-6, 7) * 1e-12);
                for (var c = 0; c < 9; c++) batch.Row(r)[c] = r + 1 + c;
            }
            batch.MarkChanged();
            AssertDecidesAsTheReference(batch, config, fast, exact, $"seed {seed}, round {t}");
        }
    }

    /// <summary>The same edge through the exact path's masked columns: a column of two cells whose running sum after
    /// the first sits within rounding of the bar (reference 0.75; the raw-p sum picked 0.5).</summary>
    [Fact]
    public void At_the_edge_of_the_bar_a_masked_column_picks_as_the_reference()
    {
        var config = new CrossMetaConfig(Method: AggregationMethod.WeightedMedian, OutlierFilter: false, DiversityEntropyTarget: null);
        using var cpu = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        var batch = new DomainBatch(3, 2, withMask: true);
        batch.Confidences[0] = 0.999999999996;
        batch.Confidences[1] = 1;
        batch.Confidences[2] = 1;
        batch.Row(0)[0] = 0.5f; batch.MaskRow(0)[0] = 1;
        batch.Row(1)[0] = 0.75f; batch.MaskRow(1)[0] = 1;
        batch.Row(0)[1] = 1f; batch.MaskRow(0)[1] = 1;
        batch.Row(2)[1] = 3f; batch.MaskRow(2)[1] = 1;
        batch.MarkChanged();
        Assert.Equal(0.75f, CrossDomainMetaAggregator.Aggregate(KeyedUpdates.From(batch), config).Vector[0]);
        AssertDecidesAsTheReference(batch, config, cpu, exact, "masked");
    }

    private static void AssertDecidesAsTheReference(DomainBatch batch, CrossMetaConfig config, CpuBackend fast, CpuBackend exact, string label)
    {
        var reference = CrossDomainMetaAggregator.Aggregate(KeyedUpdates.From(batch), config);
        foreach (var (name, backend) in new[] { ("cpu", fast), ("cpu exact path", exact) })
        {
            var actual = new DenseCrossDomainAggregator(backend, config).Aggregate(batch).Aggregate!;
            for (var c = 0; c < batch.Columns; c++)
            {
                var i = reference.Keys.ToList().IndexOf(KeyedUpdates.KeyOf(c));
                Assert.True(i >= 0 && reference.Vector[i] == actual[c],
                    $"{label}, {name}, column {c}: {actual[c]:R}, reference {(i < 0 ? float.NaN : reference.Vector[i]):R}");
            }
        }
    }

    /// <summary>
    /// Equal weights put the running sum after half the rows exactly on S/2; one row's weight nudged by
    /// <c>delta</c> (relative) moves it a hair above or below, or leaves it within the 1e-12 slack.
    /// </summary>
    private static double[] Make(Random rng, Weights weighting, int n)
    {
        var weights = new double[n];
        for (var r = 0; r < n; r++)
        {
            weights[r] = weighting switch
            {
                Weights.NearHalfAbove or Weights.NearHalfBelow or Weights.InsideSlack => 0.5,
                Weights.Zeros => rng.Next(3) == 0 ? 0.0 : rng.Next(1, 4),
                Weights.WideRange => Math.Pow(10, -rng.Next(0, 10)) * (0.5 + rng.NextDouble()),
                Weights.Tiny => 1e-305 * rng.Next(1, 4),
                Weights.Huge => 1e300 * rng.Next(1, 4),
                _ => 0.0,
            };
        }
        var delta = weighting switch
        {
            Weights.NearHalfAbove => 1e-10,
            Weights.NearHalfBelow => -1e-10,
            Weights.InsideSlack => 1e-14,
            _ => 0.0,
        };
        weights[rng.Next(n)] *= 1 + delta;
        return weights;
    }
}
