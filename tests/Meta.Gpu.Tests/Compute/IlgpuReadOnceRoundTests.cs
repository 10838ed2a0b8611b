using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The read-once round on ilgpu-cpu (the ILGPU combine kernel counts the columns where it read a non-finite cell),
/// on a sampled small part of <see cref="ReadOnceRoundTests"/>'s cases: against a scan-first twin on the same
/// backend, every method, with and without a non-finite cell, aggregate alone and fused with a step.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuReadOnceRoundTests
{
    [Fact]
    public void A_round_read_once_on_ilgpu_cpu_equals_the_scanned_round()
    {
        using var device = IlgpuBackend.TryCreate("ilgpu-cpu") ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        (int N, int D)[] sizes = [(1, 9), (6, 13), (33, 40)];
        foreach (var method in new[] { AggregationMethod.Mean, AggregationMethod.TrimmedMean, AggregationMethod.Median, AggregationMethod.WeightedMedian })
        foreach (var (n, d) in sizes)
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f })
        {
            var batch = ReadOnceRoundTests.FiniteBatch(rng.Next(), n, d);
            var finite = bad == 0f;
            var (row, column) = (rng.Next(n), rng.Next(d));
            if (!finite) batch.Row(row)[column] = bad;
            batch.MarkChanged(); // the device keeps its copy of the batch until told
            var outliers = rng.Next(2) == 0;
            var config = CrossMetaConfig.Default with { Method = method, TrimAlpha = 0.2, OutlierFilter = outliers, OutlierMinDomains = 3 };
            var context = $"seed {seed}, {method}, N={n}, D={d}, cell ({row}, {column}) = {bad}, outliers {outliers}";

            using var once = new ScanCountingBackend(device, readOnce: true, disposeInner: false);
            using var twin = new ScanCountingBackend(device, readOnce: false, disposeInner: false);
            ReadOnceRoundTests.AssertSame(new DenseCrossDomainAggregator(twin, config).Aggregate(batch),
                new DenseCrossDomainAggregator(once, config).Aggregate(batch), context);
            ReadOnceRoundTests.AssertWentOnce(once, finite, context);

            if (n < 4) continue; // a caller's prior is copied for a redo only from four rows up
            using var onceFused = new ScanCountingBackend(device, readOnce: true, disposeInner: false);
            var prior = ReadOnceRoundTests.Prior(rng, d);
            var priorTwin = prior.ToArray();
            var step = new ReptileStep(ReptileRule.Interpolate, 0.3);
            ReadOnceRoundTests.AssertSame(new DenseCrossDomainAggregator(twin, config).AggregateAndStep(batch, priorTwin, step),
                new DenseCrossDomainAggregator(onceFused, config).AggregateAndStep(batch, prior, step), context + ", fused");
            Assert.Equal(priorTwin, prior);
            ReadOnceRoundTests.AssertWentOnce(onceFused, finite, context + ", fused");
        }
    }

    [Fact]
    public void The_ilgpu_combine_reports_a_non_finite_cell_only_where_it_reads_one()
    {
        using var device = IlgpuBackend.TryCreate("ilgpu-cpu") ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        var batch = ReadOnceRoundTests.FiniteBatch(TestSeed.Next(), 5, 11);
        int[] rows = [0, 2, 3, 4];
        double[] p = [0.25, 0.25, 0.25, 0.25];
        var aggregate = new float[11];
        Assert.Equal(0, device.CombineUnscanned(batch, rows, p, AggregationMethod.TrimmedMean, 0.2, aggregate, default, null));
        batch.Row(1)[7] = float.PositiveInfinity; // a row that does not take part is not read
        batch.MarkChanged();
        Assert.Equal(0, device.CombineUnscanned(batch, rows, p, AggregationMethod.TrimmedMean, 0.2, aggregate, default, null));
        batch.Row(3)[10] = float.NaN;
        batch.MarkChanged();
        Assert.Null(device.CombineUnscanned(batch, rows, p, AggregationMethod.Median, 0.2, aggregate, default, null));
        Assert.Null(device.CombineUnscanned(batch, rows, p, AggregationMethod.Mean, 0.2, default, default, null)); // nothing to write
        Assert.Throws<ArgumentException>(() => device.CombineUnscanned(new DomainBatch(5, 11, withMask: true), rows, p,
            AggregationMethod.Mean, 0.2, aggregate, default, null));
    }
}
