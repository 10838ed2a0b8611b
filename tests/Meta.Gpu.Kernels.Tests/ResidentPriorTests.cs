using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// A <see cref="ResidentPrior"/> on an ILGPU backend: stepped round after round it is uploaded once, with the same
/// values as the span path that uploads it every step; any host write that is marked, another prior, a span step
/// or a chunked batch in between makes the next step upload again.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class ResidentPriorTests(IlgpuCpuFixture fixture)
{
    private readonly IlgpuBackend _backend = Reset(fixture.Backend);

    private static IlgpuBackend Reset(IlgpuBackend backend)
    {
        backend.ChunkColumns = null;
        backend.DenseKernels = true;
        return backend;
    }

    private static readonly ReptileStep Step = new(ReptileRule.Interpolate, 0.3);

    private sealed record Round(DomainBatch Batch, int[] Rows, double[] Weights);

    private static Round MakeRound(int rows, int columns, int seed)
    {
        var batch = RandomBatch.Create(new BatchShape(rows, columns, Mask: false, Ties: false, Attackers: 1), seed);
        var eligible = RandomBatch.EligibleRows(batch);
        return new Round(batch, eligible, RandomBatch.Weights(batch, eligible, uniform: false));
    }

    private void StepResident(Round round, ResidentPrior prior, AggregationMethod method = AggregationMethod.TrimmedMean) =>
        ((IComputeBackend)_backend).Combine(round.Batch, round.Rows, round.Weights, method, 0.2, false, Span<float>.Empty, prior, Step);

    private void StepSpan(Round round, float[] prior, AggregationMethod method = AggregationMethod.TrimmedMean) =>
        _backend.Combine(round.Batch, round.Rows, round.Weights, method, 0.2, false, Span<float>.Empty, prior, Step);

    [Theory]
    [InlineData(AggregationMethod.TrimmedMean)]
    [InlineData(AggregationMethod.Mean)]
    [InlineData(AggregationMethod.WeightedMedian)]
    public void Steady_rounds_upload_it_once_and_step_it_as_the_span_path_does(AggregationMethod method) =>
        SteadyRoundsUploadOnce(_backend, 9, 301, method);

    /// <summary>Four resident steps upload once and leave the values four span steps leave (bit for bit: the same
    /// kernels on the same device). Shared with <see cref="GpuDeviceTests"/>.</summary>
    internal static void SteadyRoundsUploadOnce(IlgpuBackend backend, int rows, int columns, AggregationMethod method)
    {
        var round = MakeRound(rows, columns, 11);
        var resident = new ResidentPrior(RandomBatch.Prior(columns, 12));
        var expected = (float[])resident.Values.Clone();
        var uploads = backend.PriorUploads;
        for (var r = 0; r < 4; r++)
            ((IComputeBackend)backend).Combine(round.Batch, round.Rows, round.Weights, method, 0.2, false, Span<float>.Empty, resident, Step);
        Assert.Equal(uploads + 1, backend.PriorUploads);

        for (var r = 0; r < 4; r++)
            backend.Combine(round.Batch, round.Rows, round.Weights, method, 0.2, false, Span<float>.Empty, expected, Step);
        Assert.Equal(uploads + 5, backend.PriorUploads);
        Assert.Equal(expected, resident.Values);
    }

    [Fact]
    public void A_span_step_in_between_makes_the_next_resident_step_upload()
    {
        var round = MakeRound(7, 130, 21);
        var resident = new ResidentPrior(RandomBatch.Prior(130, 22));
        var expected = (float[])resident.Values.Clone();
        var other = RandomBatch.Prior(130, 23);
        var uploads = _backend.PriorUploads;
        StepResident(round, resident);
        StepSpan(round, other);
        StepResident(round, resident);
        Assert.Equal(uploads + 3, _backend.PriorUploads);

        StepSpan(round, expected);
        StepSpan(round, expected);
        Assert.Equal(expected, resident.Values);
    }

    [Fact]
    public void A_host_write_marked_changed_is_uploaded_before_the_next_step()
    {
        var round = MakeRound(6, 90, 31);
        var resident = new ResidentPrior(RandomBatch.Prior(90, 32));
        StepResident(round, resident);
        var uploads = _backend.PriorUploads;

        resident.Values.AsSpan(10, 20).Fill(7.5f);
        resident.MarkChanged();
        var expected = (float[])resident.Values.Clone();
        StepResident(round, resident);
        Assert.Equal(uploads + 1, _backend.PriorUploads);

        StepSpan(round, expected);
        Assert.Equal(expected, resident.Values);
    }

    [Fact]
    public void Another_prior_in_between_makes_the_next_step_upload_its_own()
    {
        var round = MakeRound(5, 64, 41);
        var first = new ResidentPrior(RandomBatch.Prior(64, 42));
        var second = new ResidentPrior(RandomBatch.Prior(64, 43));
        var firstExpected = (float[])first.Values.Clone();
        var secondExpected = (float[])second.Values.Clone();
        var uploads = _backend.PriorUploads;
        StepResident(round, first);
        StepResident(round, second);
        StepResident(round, first);
        Assert.Equal(uploads + 3, _backend.PriorUploads);

        StepSpan(round, firstExpected);
        StepSpan(round, firstExpected);
        StepSpan(round, secondExpected);
        Assert.Equal(firstExpected, first.Values);
        Assert.Equal(secondExpected, second.Values);
    }

    [Fact]
    public void A_prior_longer_than_the_batch_is_refused_and_a_later_step_over_all_of_it_uploads_it_whole()
    {
        // A prior is D long on every backend: this one stepped the first 40 of 100 values where the cpu backend (its
        // fallback) refused the call. Refused, nothing is stepped or kept, and the step over all 100 is whole.
        var narrow = MakeRound(5, 40, 91);
        var wide = MakeRound(5, 100, 92);
        var resident = new ResidentPrior(RandomBatch.Prior(100, 93));
        var expected = (float[])resident.Values.Clone();
        Assert.Equal("prior", Assert.ThrowsAny<ArgumentException>(() => StepResident(narrow, resident)).ParamName);
        Assert.Equal(expected, resident.Values);
        StepResident(wide, resident);
        StepSpan(wide, expected);
        Assert.Equal(expected, resident.Values);
    }

    [Fact]
    public void A_chunked_batch_uploads_every_chunk_of_every_step_and_gives_the_same_values()
    {
        var round = MakeRound(8, 250, 51);
        var resident = new ResidentPrior(RandomBatch.Prior(250, 52));
        var expected = (float[])resident.Values.Clone();
        using (var cpu = new CpuBackend())
        {
            for (var r = 0; r < 2; r++)
                cpu.Combine(round.Batch, round.Rows, round.Weights, AggregationMethod.Median, 0.2, false, Span<float>.Empty, expected, Step);
        }
        _backend.ChunkColumns = 100;
        try
        {
            var uploads = _backend.PriorUploads;
            StepResident(round, resident, AggregationMethod.Median);
            StepResident(round, resident, AggregationMethod.Median);
            Assert.Equal(3, _backend.LastChunkCount);
            Assert.Equal(uploads + 6, _backend.PriorUploads);
        }
        finally
        {
            _backend.ChunkColumns = null;
        }
        Tolerance.Agree(expected, resident.Values, "chunked resident prior");
    }

    [Fact]
    public void The_optimizers_rounds_keep_its_prior_resident_and_a_rollback_is_uploaded()
    {
        const int columns = 200;
        var config = new CrossMetaConfig(Method: AggregationMethod.TrimmedMean, TrimAlpha: 0.2, OutlierFilter: false);
        var onDevice = new DenseReptileOptimizer(columns, initialPrior: RandomBatch.Prior(columns, 62));
        var onCpu = new DenseReptileOptimizer(columns, initialPrior: onDevice.Prior);
        var device = new DenseCrossDomainAggregator(_backend, config);
        using var cpuBackend = new CpuBackend();
        var cpu = new DenseCrossDomainAggregator(cpuBackend, config);
        var batches = Enumerable.Range(0, 4).Select(i => MakeRound(6, columns, 70 + i).Batch).ToArray();

        var uploads = _backend.PriorUploads;
        foreach (var batch in batches[..3])
        {
            device.AggregateInto(batch, onDevice, reward: 1.0, drg: default);
            cpu.AggregateInto(batch, onCpu, reward: 1.0, drg: default);
        }
        Assert.Equal(uploads + 1, _backend.PriorUploads);

        Assert.True(onDevice.Rollback());
        Assert.True(onCpu.Rollback());
        device.AggregateInto(batches[3], onDevice, reward: 1.0, drg: default);
        cpu.AggregateInto(batches[3], onCpu, reward: 1.0, drg: default);
        Assert.Equal(uploads + 2, _backend.PriorUploads);

        // A step taken on the host (an aggregate computed elsewhere) is a host write too.
        var elsewhere = RandomBatch.Prior(columns, 63);
        onDevice.Apply(elsewhere, reward: 1.0, drg: default);
        onCpu.Apply(elsewhere, reward: 1.0, drg: default);
        device.AggregateInto(batches[0], onDevice, reward: 1.0, drg: default);
        cpu.AggregateInto(batches[0], onCpu, reward: 1.0, drg: default);
        Assert.Equal(uploads + 3, _backend.PriorUploads);
        Tolerance.Agree(onCpu.Prior, onDevice.Prior, "optimizer prior after a rollback");
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, 50)]
    [InlineData(true, 50)]
    public void An_unscanned_step_that_reads_a_non_finite_cell_leaves_the_prior_as_it_was(bool resident, int? chunkColumns)
    {
        // The backend says it steps atomically, so the aggregator keeps no copy to undo such a step: the host prior
        // must not have moved, in whole-batch and in chunked runs, and the device's stepped copy must not be reused.
        const int columns = 130;
        IComputeBackend backend = _backend;
        Assert.True(backend.StepsPriorAtomically);
        var clean = MakeRound(7, columns, 101);
        var poisoned = MakeRound(7, columns, 102);
        poisoned.Batch.Row(poisoned.Rows[^1])[columns - 3] = float.PositiveInfinity;
        poisoned.Batch.MarkChanged();
        var prior = new ResidentPrior(RandomBatch.Prior(columns, 103));
        var expected = (float[])prior.Values.Clone();
        _backend.ChunkColumns = chunkColumns;
        try
        {
            if (resident) StepResident(clean, prior);
            else StepSpan(clean, prior.Values);
            StepSpan(clean, expected);
            var before = (float[])prior.Values.Clone();
            var version = prior.Version;

            var result = resident
                ? backend.CombineUnscanned(poisoned.Batch, poisoned.Rows, poisoned.Weights, AggregationMethod.TrimmedMean, 0.2, Span<float>.Empty, prior, Step)
                : backend.CombineUnscanned(poisoned.Batch, poisoned.Rows, poisoned.Weights, AggregationMethod.TrimmedMean, 0.2, Span<float>.Empty, prior.Values, Step);
            Assert.Null(result);
            Assert.Equal(before, prior.Values);
            Assert.Equal(version, prior.Version);

            // The next resident step starts from the host values, not from the device copy the failed step moved.
            var uploads = _backend.PriorUploads;
            StepResident(clean, prior);
            StepSpan(clean, expected);
            Assert.True(_backend.PriorUploads > uploads);
        }
        finally
        {
            _backend.ChunkColumns = null;
        }
        Assert.Equal(expected, prior.Values);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    public void A_step_on_a_callers_prior_over_few_rows_agrees_with_cpu_when_a_non_finite_cell_sends_it_back(int rows, bool nonFinite)
    {
        // Behind an atomic backend the aggregator reads even one to three rows once, keeping no copy of the prior;
        // a non-finite cell then redoes the round from a scan, which must step the prior exactly once.
        const int columns = 70;
        var config = new CrossMetaConfig(Method: AggregationMethod.Mean, OutlierFilter: false);
        var batch = MakeRound(rows, columns, 110 + rows).Batch;
        if (nonFinite)
        {
            batch.Row(rows - 1)[5] = float.NaN;
            batch.MarkChanged();
        }
        var prior = RandomBatch.Prior(columns, 120);
        var expected = (float[])prior.Clone();
        using var cpuBackend = new CpuBackend();
        var onCpu = new DenseCrossDomainAggregator(cpuBackend, config).AggregateAndStep(batch, expected, Step);
        var onDevice = new DenseCrossDomainAggregator(_backend, config).AggregateAndStep(batch, prior, Step);
        Assert.Equal(onCpu.Meta.Participants, onDevice.Meta.Participants);
        Assert.Equal(onCpu.Meta.RejectedNonfinite, onDevice.Meta.RejectedNonfinite);
        Tolerance.Agree(expected, prior, $"{rows} rows, non-finite {nonFinite}");
    }

    [Fact]
    public void A_round_redone_after_a_non_finite_cell_steps_the_restored_prior()
    {
        const int columns = 120;
        var config = new CrossMetaConfig(Method: AggregationMethod.TrimmedMean, TrimAlpha: 0.2, OutlierFilter: false);
        var clean = MakeRound(6, columns, 81).Batch;
        var poisoned = MakeRound(6, columns, 82).Batch;
        poisoned.Row(2)[17] = float.NaN;
        poisoned.MarkChanged();
        var resident = new ResidentPrior(RandomBatch.Prior(columns, 83));
        var expected = (float[])resident.Values.Clone();
        var device = new DenseCrossDomainAggregator(_backend, config);
        using var cpuBackend = new CpuBackend();
        var cpu = new DenseCrossDomainAggregator(cpuBackend, config);

        foreach (var batch in new[] { clean, poisoned, clean })
        {
            var onDevice = device.AggregateAndStep(batch, resident, Step);
            var onCpu = cpu.AggregateAndStep(batch, expected, Step);
            Assert.Equal(onCpu.Meta.Participants, onDevice.Meta.Participants);
            Assert.Equal(onCpu.Meta.RejectedNonfinite, onDevice.Meta.RejectedNonfinite);
        }
        Tolerance.Agree(expected, resident.Values, "prior after a redone round");
    }
}
