using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>Sequences of legal calls that reuse batches and priors across rounds: ilgpu-cpu (whose residency is
/// cuda's) must end where cpu ends.</summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class ResidencySequenceTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        backend.DenseKernels = true;
        return backend;
    }

    private static void Rewrite(DomainBatch batch, int seed, bool mask)
    {
        var random = new Random(seed);
        for (var i = 0; i < batch.Rows; i++)
        {
            var row = batch.Row(i);
            for (var d = 0; d < batch.Columns; d++) row[d] = (float)(random.NextDouble() * 4 - 2);
            batch.Confidences[i] = 0.05 + random.NextDouble();
            if (mask)
            {
                var m = batch.MaskRow(i);
                for (var d = 0; d < batch.Columns; d++) m[d] = (byte)(random.NextDouble() >= 0.3 ? 1 : 0);
            }
        }
        batch.MarkChanged();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Reused_batches_and_an_optimizers_prior_agree_with_cpu(bool mask, bool outliers)
    {
        const int columns = 40;
        try
        {
            var config = new CrossMetaConfig(Method: AggregationMethod.TrimmedMean, TrimAlpha: 0.2, OutlierFilter: outliers,
                OutlierMinDomains: 3, MissingKeys: MissingKeys.Ignore);
            var onDevice = new DenseReptileOptimizer(columns);
            var onCpu = new DenseReptileOptimizer(columns);
            var device = new DenseCrossDomainAggregator(_backend, config);
            using var cpuBackend = new CpuBackend();
            var cpu = new DenseCrossDomainAggregator(cpuBackend, config);
            var a = new DomainBatch(6, columns, mask);
            var b = new DomainBatch(6, columns, mask);
            Rewrite(a, 1, mask);
            Rewrite(b, 2, mask);
            for (var r = 0; r < 8; r++)
            {
                var batch = r % 2 == 0 ? a : b;
                if (r == 4) Rewrite(a, 10, mask);
                if (r == 5) { b.Confidences[0] = 0.01; b.Confidences[1] = 5; b.MarkChanged(); }
                _backend.ChunkColumns = r == 6 ? 16 : null;
                var reward = r % 3 == 0 ? 1.0 : -2.0;
                var ad = new float[columns];
                var ac = new float[columns];
                device.AggregateInto(batch, onDevice, reward, default, ad);
                cpu.AggregateInto(batch, onCpu, reward, default, ac);
                Tolerance.Agree(ac, ad, $"aggregate round {r}");
                if (onDevice.ShouldRollback(reward)) onDevice.Rollback();
                if (onCpu.ShouldRollback(reward)) onCpu.Rollback();
                Tolerance.Agree(onCpu.Prior, onDevice.Prior, $"prior round {r}");
            }
        }
        finally
        {
            _backend.ChunkColumns = null;
        }
    }

    [Fact]
    public void Two_resident_priors_alternating_on_two_batches_agree_with_cpu()
    {
        const int columns = 33;
        var config = new CrossMetaConfig(Method: AggregationMethod.Mean, OutlierFilter: false);
        var device = new DenseCrossDomainAggregator(_backend, config);
        using var cpuBackend = new CpuBackend();
        var cpu = new DenseCrossDomainAggregator(cpuBackend, config);
        var p = new ResidentPrior(RandomBatch.Prior(columns, 5));
        var q = new ResidentPrior(RandomBatch.Prior(columns, 6));
        var pc = (float[])p.Values.Clone();
        var qc = (float[])q.Values.Clone();
        var a = new DomainBatch(5, columns);
        var b = new DomainBatch(5, columns);
        Rewrite(a, 3, false);
        Rewrite(b, 4, false);
        var step = new ReptileStep(ReptileRule.Interpolate, 0.4);
        for (var r = 0; r < 6; r++)
        {
            device.AggregateAndStep(r % 2 == 0 ? a : b, r % 3 == 0 ? p : q, step);
            cpu.AggregateAndStep(r % 2 == 0 ? a : b, r % 3 == 0 ? pc : qc, step);
        }
        Tolerance.Agree(pc, p.Values, "p");
        Tolerance.Agree(qc, q.Values, "q");
    }

    [Fact]
    public void A_collected_batch_and_a_new_one_of_the_same_version_agree_with_cpu()
    {
        const int columns = 24;
        using var cpuBackend = new CpuBackend();
        var config = new CrossMetaConfig(Method: AggregationMethod.Median, OutlierFilter: false);
        var device = new DenseCrossDomainAggregator(_backend, config);
        var cpu = new DenseCrossDomainAggregator(cpuBackend, config);
        for (var r = 0; r < 4; r++)
        {
            var batch = new DomainBatch(4, columns);
            Rewrite(batch, 100 + r, false);
            var expected = cpu.Aggregate(batch).Aggregate!;
            var actual = device.Aggregate(batch).Aggregate!;
            Tolerance.Agree(expected, actual, $"batch {r}");
            batch = null;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }
    }
}
