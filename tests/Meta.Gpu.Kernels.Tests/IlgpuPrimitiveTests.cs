using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>The ilgpu-cpu backend's primitives against the float64 per-column reference on fresh seeded inputs.</summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class IlgpuPrimitiveTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        return backend;
    }

    [Theory]
    [MemberData(nameof(KernelCases.Shapes), MemberType = typeof(KernelCases))]
    public void ScanRows_CountsPresentCellsAndNonFiniteExactly(int n, int d, bool mask, bool ties, int attackers, int seed) =>
        AgreementChecks.Scan(_backend, new BatchShape(n, d, mask, ties, attackers), seed);

    [Fact]
    public void ScanRows_IgnoresNonFiniteAbsentCells()
    {
        var batch = new DomainBatch(2, 3, withMask: true);
        batch.Row(0)[1] = float.NaN;
        batch.Row(1)[2] = float.NegativeInfinity;
        batch.MaskRow(0).Fill(1);
        batch.MaskRow(0)[1] = 0;
        batch.MaskRow(1)[2] = 1;
        batch.MarkChanged();
        var actual = new RowScan[2];
        _backend.ScanRows(batch, actual);
        Assert.Equal([new RowScan(2, false), new RowScan(1, true)], actual);
    }

    [Theory]
    [MemberData(nameof(KernelCases.Shapes), MemberType = typeof(KernelCases))]
    public void ColumnMediansAndRowDistances_AgreeAndFlagTheSameOutliers(int n, int d, bool mask, bool ties, int attackers, int seed) =>
        AgreementChecks.MediansAndDistances(_backend, new BatchShape(n, d, mask, ties, attackers), seed);

    [Theory]
    [MemberData(nameof(KernelCases.Shapes), MemberType = typeof(KernelCases))]
    public void Combine_EveryMethodAndRule_AgreesWithReference(int n, int d, bool mask, bool ties, int attackers, int seed) =>
        AgreementChecks.Combine(_backend, new BatchShape(n, d, mask, ties, attackers), seed);

    [Theory]
    [InlineData(33, 100, true, 21)]
    [InlineData(5, 1000, false, 22)]
    public void Combine_FusedStepWithoutAggregate_StepsThePriorIdentically(int n, int d, bool mask, int seed)
    {
        var batch = RandomBatch.Create(new BatchShape(n, d, mask, Ties: false), seed);
        var rows = RandomBatch.EligibleRows(batch);
        var weights = RandomBatch.Weights(batch, rows, uniform: false);
        var step = new ReptileStep(ReptileRule.Interpolate, 0.2);
        var withAggregate = RandomBatch.Prior(d, seed);
        var fused = (float[])withAggregate.Clone();

        var emptyA = _backend.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false, new float[d], withAggregate, step);
        var emptyB = _backend.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false, Span<float>.Empty, fused, step);

        Assert.Equal(emptyA, emptyB);
        Assert.Equal(withAggregate, fused);
    }

    /// <summary>After a chunked round, a batch that fits whole went resident while the chunk buffers stayed
    /// allocated (and the next plan counted them as free): a real device then ran short of memory round after
    /// round. They are freed when the batch goes resident.</summary>
    [Fact]
    public void A_batch_that_fits_again_after_a_chunked_round_holds_no_chunk_buffers()
    {
        const int n = 8, d = 4096;
        var batch = RandomBatch.Create(new BatchShape(n, d, Mask: false, Ties: false, Attackers: 0, NonFinite: false), 41);
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = Enumerable.Repeat(1.0 / n, n).ToArray();
        var aggregate = new float[d];
        // A backend of its own: the shared one holds buffers sized by earlier tests.
        using var backend = (IlgpuBackend)ComputeBackends.Create(ComputeBackends.IlgpuCpu);

        backend.Combine(batch, rows, weights, AggregationMethod.Mean, 0, false, aggregate, default, null);
        var resident = backend.DeviceBytesHeld;
        backend.ChunkColumns = d - 1;
        backend.Combine(batch, rows, weights, AggregationMethod.Mean, 0, false, aggregate, default, null);
        Assert.Equal(2, backend.LastChunkCount);
        backend.ChunkColumns = null;
        backend.Combine(batch, rows, weights, AggregationMethod.Mean, 0, false, aggregate, default, null);

        Assert.Equal(1, backend.LastChunkCount);
        Assert.Equal(resident, backend.DeviceBytesHeld);
    }

    [Theory]
    [InlineData(33, 1000, true, 300, 31)]
    [InlineData(5, 100, false, 7, 32)]
    [InlineData(2, 7, true, 1, 33)]
    public void ForcedChunks_GiveTheWholeBatchResultsExactly(int n, int d, bool mask, int chunk, int seed)
    {
        var batch = RandomBatch.Create(new BatchShape(n, d, mask, Ties: true, Attackers: 1, NonFinite: true), seed);
        var rows = RandomBatch.EligibleRows(batch);
        var weights = RandomBatch.Weights(batch, rows, uniform: false);
        var prior = RandomBatch.Prior(d, seed);
        var step = new ReptileStep(ReptileRule.Delta, 0.1);

        (RowScan[], double[], double[], float[], float[], int, double[], double[]) Run(int? chunkColumns)
        {
            _backend.ChunkColumns = chunkColumns;
            var scan = new RowScan[n];
            _backend.ScanRows(batch, scan);
            var medians = new double[d];
            _backend.ColumnMedians(batch, rows, true, medians);
            var distances = new double[rows.Length];
            _backend.RowDistances(batch, rows, true, medians, distances);
            var aggregate = new float[d];
            var stepped = (float[])prior.Clone();
            var empty = _backend.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, aggregate, stepped, step);
            // Both passes in one call, the medians handed back: each chunk's at its own columns.
            var bothMedians = new double[d];
            var bothDistances = new double[rows.Length];
            _backend.MediansAndDistances(batch, rows, true, bothMedians, bothDistances);
            return (scan, medians, distances, aggregate, stepped, empty, bothMedians, bothDistances);
        }

        var whole = Run(null);
        Assert.Equal(1, _backend.LastChunkCount);
        var chunked = Run(chunk);
        Assert.Equal((d + chunk - 1) / chunk, _backend.LastChunkCount);
        Assert.True(_backend.LastChunkCount > 1);

        Assert.Equal(whole.Item1, chunked.Item1);
        Assert.Equal(whole.Item2, chunked.Item2);
        // Chunked distances add per-chunk float64 sums: equal within rounding, and the decision is the same.
        Tolerance.Agree(whole.Item3, chunked.Item3, "distances");
        Assert.Equal(whole.Item4, chunked.Item4);
        Assert.Equal(whole.Item5, chunked.Item5);
        Assert.Equal(whole.Item6, chunked.Item6);
        Assert.Equal(whole.Item2, chunked.Item7);
        Tolerance.Agree(whole.Item3, chunked.Item8, "one-call distances");
        Tolerance.Agree(ColumnReference.Medians(batch, rows, true), chunked.Item2, "medians");
    }
}
