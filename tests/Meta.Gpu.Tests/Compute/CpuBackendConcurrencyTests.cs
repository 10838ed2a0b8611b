using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// CpuBackend says "Reading the batch needs no lock; concurrent calls on one instance are safe": several threads
/// calling every primitive on one instance and one batch get, every time, what a serial call gets.
/// </summary>
public sealed class CpuBackendConcurrencyTests
{
    private const int Threads = 6;
    private const int Iterations = 120;

    private static DomainBatch Batch(int rows, int columns, bool withMask, int seed)
    {
        var random = new Random(seed);
        var batch = new DomainBatch(rows, columns, withMask);
        for (var i = 0; i < rows; i++)
        {
            var row = batch.Row(i);
            for (var c = 0; c < columns; c++) row[c] = (float)(random.NextDouble() * 4 - 2);
            if (withMask)
            {
                var mask = batch.MaskRow(i);
                for (var c = 0; c < columns; c++) mask[c] = (byte)(random.Next(5) == 0 ? 0 : 1);
            }
            batch.Confidences[i] = 0.5 + random.NextDouble() / 2;
        }
        return batch;
    }

    /// <summary>Everything one call of each primitive returns, as bits, so that equality is exact.</summary>
    private static string Fingerprint(CpuBackend backend, DomainBatch batch, AggregationMethod method, bool missingAsZero)
    {
        var rows = Enumerable.Range(0, batch.Rows).Where(r => r % 5 != 3).ToArray();
        var weights = rows.Select(r => 1.0 + r % 3).ToArray();
        var scans = new RowScan[batch.Rows];
        backend.ScanRows(batch, scans);
        var medians = new double[batch.Columns];
        backend.ColumnMedians(batch, rows, missingAsZero, medians);
        var distances = new double[rows.Length];
        backend.RowDistances(batch, rows, missingAsZero, medians, distances);
        var fusedMedians = new double[batch.Columns];
        var fusedDistances = new double[rows.Length];
        backend.MediansAndDistances(batch, rows, missingAsZero, fusedMedians, fusedDistances);
        var aggregate = new float[batch.Columns];
        var prior = Enumerable.Range(0, batch.Columns).Select(c => (float)(c % 7) / 7).ToArray();
        var empty = backend.Combine(batch, rows, weights, method, 0.2, missingAsZero, aggregate, prior, new ReptileStep(ReptileRule.Interpolate, 0.3));
        var hash = new HashCode();
        foreach (var s in scans) hash.Add(s);
        foreach (var m in medians) hash.Add(BitConverter.DoubleToInt64Bits(m));
        foreach (var d in distances) hash.Add(BitConverter.DoubleToInt64Bits(d));
        foreach (var m in fusedMedians) hash.Add(BitConverter.DoubleToInt64Bits(m));
        foreach (var d in fusedDistances) hash.Add(BitConverter.DoubleToInt64Bits(d));
        foreach (var a in aggregate) hash.Add(BitConverter.SingleToInt32Bits(a));
        foreach (var p in prior) hash.Add(BitConverter.SingleToInt32Bits(p));
        return $"{empty}:{hash.ToHashCode()}";
    }

    [Fact]
    public void Concurrent_calls_on_one_instance_give_the_serial_results()
    {
        var backend = new CpuBackend(maxDegreeOfParallelism: 2);
        // Several shapes so that threads use the per-thread scratch at different sizes at the same time.
        (DomainBatch Batch, AggregationMethod Method, bool MissingAsZero)[] cases =
        [
            (Batch(9, 1500, false, 1), AggregationMethod.Median, false),
            (Batch(33, 700, false, 2), AggregationMethod.TrimmedMean, false),
            (Batch(70, 600, false, 3), AggregationMethod.WeightedMedian, false),
            (Batch(12, 900, true, 4), AggregationMethod.Median, true),
            (Batch(20, 1100, true, 5), AggregationMethod.TrimmedMean, false),
            (Batch(5, 800, false, 6), AggregationMethod.Mean, false),
        ];
        var expected = cases.Select(c => Fingerprint(backend, c.Batch, c.Method, c.MissingAsZero)).ToArray();

        var start = new Barrier(Threads);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                for (var i = 0; i < Iterations; i++)
                {
                    var k = (t + i) % cases.Length;
                    var got = Fingerprint(backend, cases[k].Batch, cases[k].Method, cases[k].MissingAsZero);
                    if (got != expected[k]) failures.Enqueue($"thread {t} iteration {i} case {k}: {got} != {expected[k]}");
                }
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {t}: {e}");
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        Assert.Empty(failures);
    }
}
