using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A round that skips the row scan and reads the batch once (<see cref="IComputeBackend.CombineUnscanned(DomainBatch, ReadOnlySpan{int}, ReadOnlySpan{double}, AggregationMethod, double, Span{float}, Span{float}, ReptileStep?)"/>) must
/// give exactly the scanned round's aggregate, meta and prior, whether its guess holds (every cell finite) or a
/// non-finite cell sends it back to the scan. Each case runs against a twin aggregator that always scans first, on
/// the same cpu kernels, so the floats must match bit for bit. The counters show which way the round went.
/// </summary>
public sealed class ReadOnceRoundTests
{
    /// <summary>(method, N, D, trim_alpha): each reaches one kernel path of the cpu combine.</summary>
    public static TheoryData<AggregationMethod, int, int, double> Paths => new()
    {
        { AggregationMethod.Mean, 1, 1003, 0.1 },          // one row: written straight through
        { AggregationMethod.Mean, 3, 13, 0.1 },            // weighted sum, a tail past the vectors
        { AggregationMethod.Mean, 9, 1, 0.1 },             // D = 1: the scalar tail only
        { AggregationMethod.TrimmedMean, 2, 1003, 0.1 },   // k = 0: the weighted sum
        { AggregationMethod.TrimmedMean, 10, 1003, 0.1 },  // k + 1 = 2 with few rows: the tiled kernel
        { AggregationMethod.TrimmedMean, 64, 1003, 0.1 },  // k + 1 = 7: the streamed kernel
        { AggregationMethod.TrimmedMean, 40, 515, 0.25 },  // k + 1 = 11: lists of 16
        { AggregationMethod.TrimmedMean, 70, 523, 0.45 },  // k + 1 = 32: lists of 32
        { AggregationMethod.TrimmedMean, 90, 77, 0.4 },    // k + 1 = 37: the exact path
        { AggregationMethod.Median, 1, 9, 0.1 },           // pads of one row, a tail column
        { AggregationMethod.Median, 13, 1003, 0.1 },       // a partial group: 16 padded rows
        { AggregationMethod.Median, 64, 523, 0.1 },        // whole groups only
        { AggregationMethod.Median, 130, 77, 0.1 },        // beyond the selection networks: merged halves
        { AggregationMethod.WeightedMedian, 1, 9, 0.1 },
        { AggregationMethod.WeightedMedian, 13, 1003, 0.1 },
        { AggregationMethod.WeightedMedian, 64, 523, 0.1 },
        { AggregationMethod.WeightedMedian, 300, 19, 0.1 }, // beyond the kernel's rows: the exact path
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void A_round_read_once_equals_the_scanned_round_with_and_without_a_non_finite_cell(AggregationMethod method, int n, int d, double trim) =>
        RoundReadOnceEqualsTheScannedRound(method, n, d, trim, DomainWeighting.Confidence);

    /// <summary>weighting=uniform makes every weight equal: the weighted median runs the median kernel, which must
    /// notice a non-finite cell it reads as the weighted median kernel does.</summary>
    [Theory]
    [InlineData(1, 9)]
    [InlineData(13, 1003)]
    [InlineData(64, 523)]
    public void An_equal_weight_weighted_median_read_once_equals_the_scanned_round(int n, int d) =>
        RoundReadOnceEqualsTheScannedRound(AggregationMethod.WeightedMedian, n, d, 0.1, DomainWeighting.Uniform);

    private static void RoundReadOnceEqualsTheScannedRound(AggregationMethod method, int n, int d, double trim, DomainWeighting weighting)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f })
        foreach (var outliers in new[] { false, true })
        {
            var batch = FiniteBatch(rng.Next(), n, d);
            var finite = bad == 0f;
            var (row, column) = (rng.Next(n), rng.Next(3) == 0 ? d - 1 : rng.Next(d));
            if (!finite) batch.Row(row)[column] = bad;
            batch.MarkChanged();
            var context = $"seed {seed}, {method}, {weighting} weighting, N={n}, D={d}, trim {trim}, cell ({row}, {column}) = {bad}, outliers {outliers}";
            var config = CrossMetaConfig.Default with { Method = method, TrimAlpha = trim, OutlierFilter = outliers, OutlierMinDomains = 3, Weighting = weighting };

            // The aggregate alone.
            var (once, twin) = Pair();
            var expected = new DenseCrossDomainAggregator(twin, config).Aggregate(batch);
            var actual = new DenseCrossDomainAggregator(once, config).Aggregate(batch);
            AssertSame(expected, actual, context);
            AssertWentOnce(once, finite, context);
            Assert.Equal(finite ? 0 : 1, expected.Meta.RejectedNonfinite);

            // Fused with a step on the caller's prior (a copy of it is kept for the redo from four rows up).
            (once, twin) = Pair();
            var prior = Prior(rng, d);
            var priorTwin = prior.ToArray();
            var step = new ReptileStep(rng.Next(2) == 0 ? ReptileRule.Interpolate : ReptileRule.Delta, 0.3);
            AssertSame(new DenseCrossDomainAggregator(twin, config).AggregateAndStep(batch, priorTwin, step),
                new DenseCrossDomainAggregator(once, config).AggregateAndStep(batch, prior, step), context + ", fused");
            Assert.Equal(priorTwin, prior);
            if (n >= 4) AssertWentOnce(once, finite, context + ", fused");
            else Assert.Equal((1, 0), (once.Scans, once.UnscannedCombines));
        }
    }

    [Fact]
    public void Optimizer_rounds_read_once_keep_the_same_prior_beta_and_rollback_chain_as_scanned_rounds()
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        const int d = 301;
        var config = CrossMetaConfig.Default;
        var optimizerConfig = new OptimizerConfig(BackupVersions: 2);
        var initial = Prior(rng, d);
        var plain = new DenseReptileOptimizer(d, optimizerConfig, initial);
        var readOnce = new DenseReptileOptimizer(d, optimizerConfig, initial);
        var (once, twin) = Pair();
        var scansBefore = 0;
        for (var round = 0; round < 7; round++)
        {
            // One row (the online step's usual round) and many; every third round carries a non-finite cell.
            var n = round % 2 == 0 ? 1 : 12;
            var batch = FiniteBatch(rng.Next(), n, d);
            var finite = round % 3 != 1;
            if (!finite) batch.Row(rng.Next(n))[rng.Next(d)] = float.PositiveInfinity;
            var drg = new DrgFlags(BandwidthFree: round % 2 == 0, LatencyHigh: round == 5);
            var context = $"seed {seed}, round {round}, N={n}";
            AssertSame(new DenseCrossDomainAggregator(twin, config).AggregateInto(batch, plain, round, drg),
                new DenseCrossDomainAggregator(once, config).AggregateInto(batch, readOnce, round, drg), context);
            Assert.Equal(plain.Prior, readOnce.Prior);
            Assert.Equal((plain.Beta, plain.RewardEma, plain.SavedVersions, plain.Round),
                (readOnce.Beta, readOnce.RewardEma, readOnce.SavedVersions, readOnce.Round));
            Assert.True(once.Scans == scansBefore + (finite ? 0 : 1), context);
            scansBefore = once.Scans;
        }
        // Every row non-finite: the redone round has no participant and takes no step, so the step abandoned on
        // the way must not have cost the oldest saved version.
        var hopeless = FiniteBatch(rng.Next(), 3, d);
        for (var r = 0; r < 3; r++) hopeless.Row(r)[r] = float.NaN;
        AssertSame(new DenseCrossDomainAggregator(twin, config).AggregateInto(hopeless, plain, 0.5, default),
            new DenseCrossDomainAggregator(once, config).AggregateInto(hopeless, readOnce, 0.5, default), $"seed {seed}, no participant");
        Assert.Equal((0, 1), (plain.SavedVersions - readOnce.SavedVersions, once.Scans - scansBefore));
        while (plain.Rollback())
        {
            Assert.True(readOnce.Rollback());
            Assert.Equal(plain.Prior, readOnce.Prior);
        }
        Assert.False(readOnce.Rollback());
    }

    [Fact]
    public void Rounds_that_need_the_scan_take_it()
    {
        var seed = TestSeed.Next();
        var config = CrossMetaConfig.Default;

        // A mask: a row may be empty.
        var (once, _) = Pair();
        var masked = new DomainBatch(8, 40, withMask: true);
        for (var r = 0; r < 8; r++) { masked.Confidences[r] = 0.9; masked.MaskRow(r).Fill(1); }
        (once, _) = Pair();
        new DenseCrossDomainAggregator(once, config).Aggregate(masked);
        Assert.Equal((1, 0), (once.Scans, once.UnscannedCombines));

    }

    [Theory]
    [InlineData(AggregationMethod.TrimmedMean)]
    [InlineData(AggregationMethod.WeightedMedian)]
    public void Rows_below_the_minimum_confidence_are_scanned_alone_and_counted_as_the_scan_would(AggregationMethod method)
    {
        // A low-confidence row with a non-finite cell counts as non-finite (the design's order), one without as
        // low confidence: only those rows are scanned, the others are read once by the combine.
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        // No outlier pass, so that the combine itself meets the eligible row's bad cell.
        var config = CrossMetaConfig.Default with { Method = method, OutlierFilter = false };
        foreach (var eligibleBad in new[] { false, true })
        {
            var batch = FiniteBatch(rng.Next(), 12, 301);
            batch.Confidences[2] = 0.01;
            batch.Confidences[7] = double.NaN;
            batch.Confidences[9] = 0.02;
            batch.Row(7)[rng.Next(301)] = float.PositiveInfinity;
            batch.Row(9)[300] = float.NaN;
            if (eligibleBad) batch.Row(5)[rng.Next(301)] = float.NegativeInfinity;
            batch.MarkChanged();
            var context = $"seed {seed}, {method}, a non-finite eligible row: {eligibleBad}";
            var (once, twin) = Pair();
            var expected = new DenseCrossDomainAggregator(twin, config).Aggregate(batch);
            AssertSame(expected, new DenseCrossDomainAggregator(once, config).Aggregate(batch), context);
            Assert.Equal((eligibleBad ? 3 : 2, 1), (expected.Meta.RejectedNonfinite, expected.Meta.RejectedLowConfidence));
            Assert.True((once.RowSubsetScans, once.Scans, once.UnscannedCombines) == (1, eligibleBad ? 1 : 0, 1),
                $"{context}: subset scans {once.RowSubsetScans}, scans {once.Scans}, combines {once.UnscannedCombines}");
        }

        // Every row below the minimum: the round is decided by their scan alone.
        var hopeless = FiniteBatch(seed, 3, 20);
        hopeless.Confidences.AsSpan().Fill(0.001);
        hopeless.Row(1)[4] = float.NaN;
        hopeless.MarkChanged();
        var (alone, scanned) = Pair();
        AssertSame(new DenseCrossDomainAggregator(scanned, config).Aggregate(hopeless),
            new DenseCrossDomainAggregator(alone, config).Aggregate(hopeless), $"seed {seed}, no eligible row");
        Assert.Equal((1, 0, 0), (alone.RowSubsetScans, alone.Scans, alone.UnscannedCombines));
    }

    [Fact]
    public void The_cpu_backend_scans_listed_rows_as_it_scans_the_batch()
    {
        using var cpu = new CpuBackend();
        var batch = FiniteBatch(TestSeed.Next(), 6, 19);
        batch.Row(4)[18] = float.NegativeInfinity;
        var all = new RowScan[6];
        cpu.ScanRows(batch, all);
        var some = new RowScan[3];
        cpu.ScanRows(batch, [1, 4, 5], some);
        Assert.Equal([all[1], all[4], all[5]], some);
        Assert.True(some[1].HasNonFinite);
        Assert.Throws<ArgumentException>(() => cpu.ScanRows(batch, [4, 1], some));
    }

    [Fact]
    public void The_cpu_backend_refuses_an_unscanned_combine_on_a_masked_batch()
    {
        using var cpu = new CpuBackend();
        var batch = FiniteBatch(TestSeed.Next(), 4, 16);
        var aggregate = new float[16];
        var masked = new DomainBatch(4, 16, withMask: true);
        Assert.False(cpu.CanCombineUnscanned(masked, AggregationMethod.Mean));
        var refused = Assert.Throws<ArgumentException>(() =>
            cpu.CombineUnscanned(masked, [0, 1, 2, 3], [0.25, 0.25, 0.25, 0.25], AggregationMethod.Mean, 0.1, aggregate, default, null));
        Assert.Equal("batch", refused.ParamName);
        // Nothing to write reads nothing, so it cannot vouch for the cells.
        Assert.Null(cpu.CombineUnscanned(batch, [0, 1, 2, 3], [0.25, 0.25, 0.25, 0.25], AggregationMethod.Mean, 0.1, default, default, null));
    }

    private static (ScanCountingBackend Once, ScanCountingBackend Twin) Pair() =>
        (new ScanCountingBackend(new CpuBackend(), readOnce: true), new ScanCountingBackend(new CpuBackend(), readOnce: false));

    /// <summary>Every confidence passes and every cell is finite: centres plus noise, and two shifted rows so
    /// the outlier pass and the trim have something to drop.</summary>
    internal static DomainBatch FiniteBatch(int seed, int n, int d)
    {
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d);
        var centre = Enumerable.Range(0, d).Select(_ => rng.NextSingle() * 4 - 2).ToArray();
        for (var r = 0; r < n; r++)
        {
            batch.Ids[r] = $"d{r:D3}";
            batch.Confidences[r] = 0.3 + 0.7 * rng.NextDouble();
            var row = batch.Row(r);
            var shift = r < 2 && n >= 6 ? 50f * (r + 1) : 0f;
            for (var c = 0; c < d; c++) row[c] = centre[c] + shift + (rng.NextSingle() - 0.5f);
        }
        return batch;
    }

    internal static float[] Prior(Random rng, int d) =>
        Enumerable.Range(0, d).Select(c => c % 17 == 5 ? float.NaN : rng.NextSingle() * 2 - 1).ToArray();

    internal static void AssertWentOnce(ScanCountingBackend once, bool finite, string context)
    {
        // A finite batch is never scanned. A non-finite cell costs one scan: the combine noticed it, or (with the
        // outlier pass) a distance did before any combine ran.
        if (finite) Assert.True((once.Scans, once.UnscannedMisses) == (0, 0), $"{context}: scans {once.Scans}, misses {once.UnscannedMisses}");
        else Assert.True(once.Scans == 1 && once.UnscannedCombines == once.UnscannedMisses, $"{context}: scans {once.Scans}, combines {once.UnscannedCombines}, misses {once.UnscannedMisses}");
    }

    internal static void AssertSame(DenseAggregationResult expected, DenseAggregationResult actual, string context)
    {
        Assert.True(expected.MetaJson().ToJsonString() == actual.MetaJson().ToJsonString(),
            $"{context}: meta {actual.MetaJson().ToJsonString()} != {expected.MetaJson().ToJsonString()}");
        Assert.Equal(expected.EmptyColumns, actual.EmptyColumns);
        if (expected.Aggregate is null) Assert.Null(actual.Aggregate);
        else
        {
            for (var c = 0; c < expected.Columns; c++)
                Assert.True(expected.Aggregate[c].Equals(actual.Aggregate![c]), $"{context}: column {c}: {actual.Aggregate![c]} != {expected.Aggregate[c]}");
        }
    }
}
