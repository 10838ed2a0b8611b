using System.Collections.Concurrent;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// IlgpuBackend says "Calls are serialised: one backend drives one device stream" and binds its device to whichever
/// thread calls: threads aggregating and stepping two batches through one ilgpu-cpu backend at once (so its resident
/// batch flips between them) get what serial calls get.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuBackendConcurrencyTests
{
    private static DomainBatch Batch(int seed, int rows, int columns)
    {
        var random = new Random(seed);
        var batch = new DomainBatch(rows, columns);
        for (var i = 0; i < rows; i++)
        {
            var row = batch.Row(i);
            for (var c = 0; c < columns; c++) row[c] = (float)(random.NextDouble() * 2 - 1);
            batch.Confidences[i] = 0.6 + random.NextDouble() * 0.4;
        }
        return batch;
    }

    private static string Run(DenseCrossDomainAggregator aggregator, DomainBatch batch)
    {
        var prior = Enumerable.Range(0, batch.Columns).Select(c => (float)c / batch.Columns).ToArray();
        var aggregate = new float[batch.Columns];
        var result = aggregator.AggregateAndStep(batch, prior, new ReptileStep(ReptileRule.Interpolate, 0.25), aggregate);
        return $"{string.Join(",", aggregate.Select(BitConverter.SingleToInt32Bits))}|{string.Join(",", prior.Select(BitConverter.SingleToInt32Bits))}|{result.EmptyColumns.Count}";
    }

    [Fact]
    public void Threads_sharing_one_ilgpu_cpu_backend_get_the_serial_results()
    {
        using var backend = IlgpuBackend.TryCreate("ilgpu-cpu") ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        var config = CrossMetaConfig.Default with { Method = AggregationMethod.TrimmedMean, TrimAlpha = 0.2, OutlierFilter = true, OutlierMinDomains = 3 };
        var aggregator = new DenseCrossDomainAggregator(backend, config);
        DomainBatch[] batches = [Batch(1, 7, 70), Batch(2, 12, 45)];
        var expected = batches.Select(b => Run(aggregator, b)).ToArray();
        const int threads = 4;
        var start = new Barrier(threads);
        var failures = new ConcurrentQueue<string>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                for (var i = 0; i < 6; i++)
                {
                    var k = (t + i) % batches.Length;
                    var got = Run(aggregator, batches[k]);
                    if (got != expected[k]) failures.Enqueue($"thread {t}, iteration {i}, batch {k}: results differ from the serial ones");
                }
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {t}: {e}");
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
    }
}
