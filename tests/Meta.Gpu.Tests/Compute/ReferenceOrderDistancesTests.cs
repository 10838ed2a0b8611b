using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// §4 step 3's outlier flags are discrete decisions and must come out as the float64 reference makes them. The
/// backends sum the squared distances in other orders; where the last bits decide a flag, the round takes the
/// distances summed in the reference's order (<see cref="ReferenceOrderDistances"/>), which must be the
/// reference's bit for bit.
/// </summary>
public sealed class ReferenceOrderDistancesTests
{
    [Theory]
    [InlineData(5, 1, false, false)]
    [InlineData(6, 9, false, false)]
    [InlineData(7, 33, true, false)]
    [InlineData(9, 1000, true, true)]
    [InlineData(33, 257, true, true)]
    public void Distances_are_the_references_bit_for_bit(int n, int d, bool withMask, bool missingAsZero)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d, withMask);
        for (var r = 0; r < n; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < d; c++) row[c] = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-3, 6)));
            if (!withMask) continue;
            var present = batch.MaskRow(r);
            // The last column is absent everywhere: outside the key union, in either mode.
            for (var c = 0; c < d; c++) present[c] = (byte)(c == d - 1 && d > 1 ? 0 : rng.NextDouble() < 0.7 ? 1 : 0);
            present[0] = 1;
        }
        batch.MarkChanged();
        int[] rows = [.. Enumerable.Range(0, n).Where(r => r != 1)];

        var keyed = KeyedUpdates.From(batch);
        var cells = rows.Select(r => (IReadOnlyDictionary<string, double>)Enumerable.Range(0, keyed[r].Keys.Count)
            .ToDictionary(i => keyed[r].Keys[i], i => (double)keyed[r].Vector[i], StringComparer.Ordinal)).ToList();
        var keys = cells.SelectMany(c => c.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var expected = CrossDomainMetaAggregator.OutlierDistances(cells, keys, missingAsZero);

        using var cpu = new CpuBackend();
        var medians = new double[d];
        cpu.ColumnMedians(batch, rows, missingAsZero, medians);
        var actual = new double[rows.Length];
        ReferenceOrderDistances.Compute(batch, rows, missingAsZero, medians, actual);

        for (var i = 0; i < rows.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(expected[i]) == BitConverter.DoubleToInt64Bits(actual[i]),
                $"seed {seed}, row {rows[i]}: {actual[i]:R} vs the reference's {expected[i]:R}");
    }

    [Fact]
    public void Flags_that_do_not_hang_on_rounding_are_settled()
    {
        double[] distances = [1.0, 1.1, 0.9, 1.05, 50.0];
        Assert.True(OutlierRule.IsSettled(distances, 3.5, ReferenceOrderDistances.RelativeError(1_000_000)));
    }

    [Fact]
    public void Distances_tied_with_a_MAD_of_0_are_not_settled()
    {
        // The threshold is the median plus 3.5e-12: one rounding of a distance near 4.5e5 decides the flag.
        double[] distances = [450_000.0, 450_000.0, 450_000.0, 450_000.0, 3.0];
        Assert.False(OutlierRule.IsSettled(distances, 3.5, ReferenceOrderDistances.RelativeError(20)));
    }

    [Fact]
    public void A_distance_a_rounding_away_from_the_threshold_is_not_settled()
    {
        double[] distances = [1.0, 1.0, 2.0, 3.0, 4.0];
        var dropped = new bool[5];
        OutlierRule.Flag(distances, 0.5, dropped); // median 2, MAD 1: threshold 2.7413
        var threshold = 2.0 + 0.5 * OutlierRule.MadScale;
        double[] near = [1.0, 1.0, 2.0, threshold * (1 + 1e-13), 4.0];
        Assert.False(OutlierRule.IsSettled(near, 0.5, ReferenceOrderDistances.RelativeError(1000)));
        Assert.True(OutlierRule.IsSettled(distances, 0.5, ReferenceOrderDistances.RelativeError(1000)));
    }

    [Fact]
    public void A_cap_that_cuts_between_two_equal_distances_is_not_settled()
    {
        // z = 0.1 flags three of six; the cap keeps two, and the second and third largest are equal.
        double[] distances = [1.0, 1.0, 1.0, 5.0, 5.0, 9.0];
        var dropped = new bool[6];
        Assert.Equal(2, OutlierRule.Flag(distances, 0.1, dropped));
        Assert.False(OutlierRule.IsSettled(distances, 0.1, ReferenceOrderDistances.RelativeError(100)));
        double[] apart = [1.0, 1.0, 1.0, 4.0, 5.0, 9.0];
        Assert.True(OutlierRule.IsSettled(apart, 0.1, ReferenceOrderDistances.RelativeError(100)));
    }

    /// <summary>Five domains, each a signed permutation of the same values: their distances are equal in exact
    /// arithmetic, the MAD is 0, and the reference's rounding alone flags some. The cpu backend's vector sums
    /// flagged others until the round took the reference's distances there.</summary>
    [Fact]
    public void Outlier_flags_are_the_references_where_distances_tie()
    {
        float[][] rows =
        [
            [116.59987f, -116.59987f, 1109004.6f, -1109004.6f, 0f, 10.112066f, -10.112066f, 0f, 144554.67f, -144554.67f, 1.0075612f, -1.0075612f, 1382.095f, -1382.095f, 0f, 0f, 12353.457f, -12353.457f, 108900.16f, -108900.16f],
            [-116.59987f, 1109004.6f, -1109004.6f, 0f, 116.59987f, -10.112066f, 0f, 144554.67f, -144554.67f, 10.112066f, -1.0075612f, 1382.095f, -1382.095f, 0f, 1.0075612f, 12353.457f, -12353.457f, 108900.16f, -108900.16f, 0f],
            [1109004.6f, -1109004.6f, 0f, 116.59987f, -116.59987f, 0f, 144554.67f, -144554.67f, 10.112066f, -10.112066f, 1382.095f, -1382.095f, 0f, 1.0075612f, -1.0075612f, -12353.457f, 108900.16f, -108900.16f, 0f, 12353.457f],
            [-1109004.6f, 0f, 116.59987f, -116.59987f, 1109004.6f, 144554.67f, -144554.67f, 10.112066f, -10.112066f, 0f, -1382.095f, 0f, 1.0075612f, -1.0075612f, 1382.095f, 108900.16f, -108900.16f, 0f, 12353.457f, -12353.457f],
            [0f, 116.59987f, -116.59987f, 1109004.6f, -1109004.6f, -144554.67f, 10.112066f, -10.112066f, 0f, 144554.67f, 0f, 1.0075612f, -1.0075612f, 1382.095f, -1382.095f, -108900.16f, 0f, 12353.457f, -12353.457f, 108900.16f],
        ];
        var batch = new DomainBatch(rows.Length, rows[0].Length);
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r].CopyTo(batch.Row(r));
            batch.Confidences[r] = 0.5;
        }
        batch.MarkChanged();
        var config = CrossMetaConfig.Default;
        var reference = CrossDomainMetaAggregator.Aggregate(KeyedUpdates.From(batch), config);
        foreach (var fast in new[] { true, false })
        {
            using var cpu = new CpuBackend { UseFastKernels = fast };
            var dense = new DenseCrossDomainAggregator(cpu, config).Aggregate(batch);
            Assert.Equal(reference.Meta.Outliers, dense.Meta.Outliers);
            Assert.Equal(reference.Meta.Participants, dense.Meta.Participants);
        }
    }
}
