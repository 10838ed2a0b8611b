using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class FallbackBackendTests
{
    /// <summary>A device that fails on a chosen primitive after scribbling over its outputs.</summary>
    private sealed class FailingDevice(string failOn, Exception failure, bool readOnce = false) : IComputeBackend
    {
        private readonly CpuBackend inner = new();
        public int Calls;
        public int Scans;
        public string Name => "cuda";

        public void ScanRows(DomainBatch batch, Span<RowScan> result)
        {
            Calls++;
            Scans++;
            if (failOn == nameof(ScanRows)) throw failure;
            inner.ScanRows(batch, result);
        }

        public void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians)
        {
            Calls++;
            if (failOn == nameof(ColumnMedians)) { medians.Fill(99); throw failure; }
            inner.ColumnMedians(batch, rows, missingAsZero, medians);
        }

        public void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances)
        {
            Calls++;
            if (failOn == nameof(RowDistances)) throw failure;
            inner.RowDistances(batch, rows, missingAsZero, medians, distances);
        }

        public int Combine(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method, double trimAlpha,
            bool missingAsZero, Span<float> aggregate, Span<float> prior, ReptileStep? step)
        {
            Calls++;
            if (failOn == nameof(Combine))
            {
                prior.Fill(12345f); // a half-done step must not survive
                aggregate.Fill(-1f);
                throw failure;
            }
            return inner.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);
        }

        public bool CanCombineUnscanned(DomainBatch batch, AggregationMethod method) => readOnce && inner.CanCombineUnscanned(batch, method);

        public int? CombineUnscanned(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method,
            double trimAlpha, Span<float> aggregate, Span<float> prior, ReptileStep? step)
        {
            Calls++;
            if (failOn == nameof(CombineUnscanned))
            {
                prior.Fill(12345f);
                aggregate.Fill(-1f);
                throw failure;
            }
            return inner.CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>A real backend (its resident overloads and atomic step included) that fails once on a chosen
    /// primitive, before it touches anything.</summary>
    private sealed class FailOnceDevice(IComputeBackend inner, bool readOnce = true) : IComputeBackend
    {
        public string? FailNext;
        public string Name => inner.Name;
        public bool StepsPriorAtomically => inner.StepsPriorAtomically;

        private void MaybeFail(string primitive)
        {
            if (FailNext != primitive) return;
            FailNext = null;
            throw new OutOfMemoryException($"device out of memory in {primitive}");
        }

        public void ScanRows(DomainBatch batch, Span<RowScan> result) { MaybeFail(nameof(ScanRows)); inner.ScanRows(batch, result); }

        public void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians)
        {
            MaybeFail(nameof(ColumnMedians));
            inner.ColumnMedians(batch, rows, missingAsZero, medians);
        }

        public void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances)
        {
            MaybeFail(nameof(RowDistances));
            inner.RowDistances(batch, rows, missingAsZero, medians, distances);
        }

        public int Combine(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method, double trimAlpha,
            bool missingAsZero, Span<float> aggregate, Span<float> prior, ReptileStep? step)
        {
            MaybeFail(nameof(Combine));
            return inner.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);
        }

        public int Combine(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method, double trimAlpha,
            bool missingAsZero, Span<float> aggregate, ResidentPrior prior, ReptileStep step)
        {
            MaybeFail(nameof(Combine));
            return inner.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);
        }

        public bool CanCombineUnscanned(DomainBatch batch, AggregationMethod method) => readOnce && inner.CanCombineUnscanned(batch, method);

        public int? CombineUnscanned(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method,
            double trimAlpha, Span<float> aggregate, Span<float> prior, ReptileStep? step)
        {
            MaybeFail(nameof(CombineUnscanned));
            return inner.CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
        }

        public int? CombineUnscanned(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method,
            double trimAlpha, Span<float> aggregate, ResidentPrior prior, ReptileStep step)
        {
            MaybeFail(nameof(CombineUnscanned));
            return inner.CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
        }

        public void Dispose() => inner.Dispose();
    }

    [Theory]
    [InlineData("ColumnMedians", true, true)]
    [InlineData("Combine", true, false)]
    [InlineData("CombineUnscanned", false, true)]
    public void A_resident_prior_stepped_on_cpu_after_a_device_failure_is_not_stepped_from_the_devices_old_copy(string failOn, bool outliers, bool readOnce)
    {
        // Round 1 leaves the device holding the stepped prior; round 2 fails over to cpu, which steps the host
        // values; round 3 is back on the device and must start from round 2's values, not from its own copy.
        var seed = TestSeed.Next();
        var config = CrossMetaConfig.Default with { OutlierFilter = outliers, OutlierMinDomains = 3 };
        var step = new ReptileStep(ReptileRule.Interpolate, 0.3);
        var batches = Enumerable.Range(0, 3).Select(i => ReadOnceRoundTests.FiniteBatch(seed + i, 9, 37)).ToArray();
        var expected = Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray();
        using var cpu = new CpuBackend();
        foreach (var batch in batches) new DenseCrossDomainAggregator(cpu, config).AggregateAndStep(batch, expected, step);

        var device = new FailOnceDevice(IlgpuBackend.Create("ilgpu-cpu"), readOnce);
        using var fallback = new FallbackBackend(device, new CpuBackend());
        var prior = new ResidentPrior(Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray());
        var aggregator = new DenseCrossDomainAggregator(fallback, config);
        aggregator.AggregateAndStep(batches[0], prior, step);
        device.FailNext = failOn;
        aggregator.AggregateAndStep(batches[1], prior, step);
        Assert.Null(device.FailNext);
        Assert.Equal(1, fallback.Failures);
        aggregator.AggregateAndStep(batches[2], prior, step);
        Assert.False(fallback.OnFallback);

        for (var c = 0; c < expected.Length; c++)
            Assert.True(Math.Abs(expected[c] - prior.Values[c]) <= 1e-4 + 1e-4 * Math.Abs(expected[c]),
                $"seed {seed}, failure in {failOn}, column {c}: {prior.Values[c]}, expected {expected[c]}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Behind_an_atomic_device_a_cpu_fallback_that_meets_a_non_finite_cell_leaves_the_prior_as_it_was(bool resident)
    {
        // The aggregator keeps no copy of the prior behind an atomic backend; after a device failure the cpu
        // fallback steps in place, so the fallback backend keeps the promise with its own copy.
        var seed = TestSeed.Next();
        var batch = ReadOnceRoundTests.FiniteBatch(seed, 9, 37);
        batch.Row(5)[36] = float.NaN;
        batch.MarkChanged();
        var device = new FailOnceDevice(IlgpuBackend.Create("ilgpu-cpu")) { FailNext = "CombineUnscanned" };
        using var fallback = new FallbackBackend(device, new CpuBackend());
        Assert.True(fallback.StepsPriorAtomically);
        var rows = Enumerable.Range(0, 9).ToArray();
        var weights = Enumerable.Repeat(1.0 / 9, 9).ToArray();
        var step = new ReptileStep(ReptileRule.Delta, 0.5);
        var prior = new ResidentPrior(Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray());
        var before = (float[])prior.Values.Clone();

        var result = resident
            ? fallback.CombineUnscanned(batch, rows, weights, AggregationMethod.Mean, 0.1, Span<float>.Empty, prior, step)
            : fallback.CombineUnscanned(batch, rows, weights, AggregationMethod.Mean, 0.1, Span<float>.Empty, prior.Values, step);

        Assert.Null(result);
        Assert.True(fallback.OnFallback);
        Assert.Equal(before, prior.Values);
    }

    [Theory]
    [InlineData("ScanRows")]
    [InlineData("ColumnMedians")]
    [InlineData("RowDistances")]
    [InlineData("Combine")]
    public void A_device_failure_finishes_the_round_on_cpu_with_the_same_results(string failOn)
    {
        var seed = TestSeed.Next();
        var batch = BatchScenario.Attacked.Make(seed, 9, 37);
        var config = CrossMetaConfig.Default;
        var step = new ReptileStep(ReptileRule.Interpolate, 0.2);

        var expectedPrior = Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray();
        var expectedAggregate = new float[37];
        var expected = new DenseCrossDomainAggregator(new CpuBackend(), config).AggregateAndStep(batch, expectedPrior, step, expectedAggregate);

        var device = new FailingDevice(failOn, new OutOfMemoryException("device out of memory"));
        using var fallback = new FallbackBackend(device, new CpuBackend());
        var prior = Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray();
        var aggregate = new float[37];
        var actual = new DenseCrossDomainAggregator(fallback, config).AggregateAndStep(batch, prior, step, aggregate);

        Assert.True(fallback.OnFallback, $"seed {seed}");
        Assert.Equal(1, fallback.Failures);
        Assert.Equal("cuda", fallback.Name);
        Assert.Equal("cpu", fallback.ActiveName);
        Assert.Equal(expected.Meta.Participants, actual.Meta.Participants);
        Assert.Equal(expected.Meta.Outliers, actual.Meta.Outliers);
        Assert.Equal(expectedAggregate, aggregate);
        Assert.Equal(expectedPrior, prior);

        // The next round tries the device again.
        var callsBefore = device.Calls;
        new DenseCrossDomainAggregator(fallback, config).Aggregate(batch);
        Assert.True(device.Calls > callsBefore);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_device_failure_in_a_read_once_round_finishes_it_on_cpu_and_the_round_after_scans(bool nonFinite)
    {
        var seed = TestSeed.Next();
        var batch = ReadOnceRoundTests.FiniteBatch(seed, 9, 37);
        if (nonFinite) batch.Row(4)[30] = float.NegativeInfinity;
        // No outlier pass: its distances would notice the cell before the combine runs.
        var config = CrossMetaConfig.Default with { OutlierFilter = false };
        var step = new ReptileStep(ReptileRule.Delta, 0.2);
        var expectedPrior = Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray();
        var expectedAggregate = new float[37];
        var expected = new DenseCrossDomainAggregator(new CpuBackend(), config).AggregateAndStep(batch, expectedPrior, step, expectedAggregate);

        var device = new FailingDevice(nameof(IComputeBackend.CombineUnscanned), new OutOfMemoryException("device out of memory"), readOnce: true);
        using var fallback = new FallbackBackend(device, new CpuBackend());
        var prior = Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray();
        var aggregate = new float[37];
        var actual = new DenseCrossDomainAggregator(fallback, config).AggregateAndStep(batch, prior, step, aggregate);
        Assert.Equal(expected.Meta.ToJson().ToJsonString(), actual.Meta.ToJson().ToJsonString());
        Assert.Equal(expectedAggregate, aggregate);
        Assert.Equal(expectedPrior, prior);
        Assert.Equal(1, fallback.Failures);
        // A non-finite cell: the cpu fallback noticed it and the round was redone from a scan, which tried the device again.
        Assert.Equal(nonFinite ? 1 : 0, device.Scans);
        Assert.Equal(!nonFinite, fallback.OnFallback);

        // After a failure that no scan has followed, the next round scans (trying the device again) instead of
        // reading once; the redone round of the non-finite case has had its scan.
        Assert.Equal(nonFinite, fallback.CanCombineUnscanned(batch, config.Method));
        var scansBefore = device.Scans;
        batch.Row(4)[30] = 0f;
        batch.MarkChanged();
        new DenseCrossDomainAggregator(fallback, config).Aggregate(batch);
        Assert.Equal(nonFinite ? scansBefore : scansBefore + 1, device.Scans);
    }

    [Theory]
    [InlineData("Combine", false)]
    [InlineData("CombineUnscanned", true)]
    public void A_device_failure_on_a_resident_prior_restores_it_marks_it_changed_and_steps_it_on_cpu(string failOn, bool readOnce)
    {
        var seed = TestSeed.Next();
        var batch = ReadOnceRoundTests.FiniteBatch(seed, 9, 37);
        var config = CrossMetaConfig.Default with { OutlierFilter = false };
        var step = new ReptileStep(ReptileRule.Interpolate, 0.2);
        var expectedPrior = Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray();
        var expectedAggregate = new float[37];
        new DenseCrossDomainAggregator(new CpuBackend(), config).AggregateAndStep(batch, expectedPrior, step, expectedAggregate);

        // The failing device scribbles 12345 over the prior before it throws: a half-done step.
        var device = new FailingDevice(failOn, new OutOfMemoryException("device out of memory"), readOnce);
        using var fallback = new FallbackBackend(device, new CpuBackend());
        var prior = new ResidentPrior(Enumerable.Range(0, 37).Select(i => i * 0.01f).ToArray());
        var aggregate = new float[37];
        new DenseCrossDomainAggregator(fallback, config).AggregateAndStep(batch, prior, step, aggregate);

        Assert.Equal(1, fallback.Failures);
        Assert.Equal(expectedAggregate, aggregate);
        Assert.Equal(expectedPrior, prior.Values);
        // The restore was a host write: a device copy of the earlier version must not be stepped next round.
        Assert.True(prior.Version > 0, $"seed {seed}");
    }

    [Fact]
    public void Caller_errors_pass_through_and_do_not_switch_to_cpu()
    {
        var device = new FailingDevice("Combine", new ArgumentException("bad rows"));
        using var fallback = new FallbackBackend(device, new CpuBackend());
        var batch = new DomainBatch(2, 3);
        Assert.Throws<ArgumentException>(() =>
            fallback.Combine(batch, [0, 1], [0.5, 0.5], AggregationMethod.Mean, 0.1, false, new float[3], default, null));
        Assert.False(fallback.OnFallback);
    }

    /// <summary>Cancellation, a disposed backend and an input error are the caller's, not the device's: the same
    /// exception reaches the caller, nothing runs on cpu, and the next call still goes to the device.</summary>
    [Theory]
    [InlineData("cancelled", "Combine")]
    [InlineData("cancelled", "ScanRows")]
    [InlineData("disposed", "Combine")]
    [InlineData("disposed", "ScanRows")]
    [InlineData("input", "Combine")]
    public void Cancellation_a_disposed_backend_and_input_errors_pass_through_and_do_not_switch_to_cpu(string kind, string failOn)
    {
        Exception failure = kind switch
        {
            "cancelled" => new OperationCanceledException("round cancelled"),
            "disposed" => new ObjectDisposedException("IlgpuBackend"),
            _ => new InvalidInputException("bad input"),
        };
        var device = new FailingDevice(failOn, failure);
        using var fallback = new FallbackBackend(device, new CpuBackend());
        var batch = new DomainBatch(2, 3);

        var thrown = Record.Exception(() =>
        {
            if (failOn == "ScanRows") fallback.ScanRows(batch, new RowScan[2]);
            else fallback.Combine(batch, [0, 1], [0.5, 0.5], AggregationMethod.Mean, 0.1, false, new float[3], default, null);
        });

        Assert.Same(failure, thrown);
        Assert.False(fallback.OnFallback);
        Assert.Equal(0, fallback.Failures);
        Assert.Null(fallback.LastFailure);
        Assert.Equal("cuda", fallback.ActiveName);
    }

    [Fact]
    public void A_registered_device_is_handed_out_behind_a_fallback()
    {
        var registered = ComputeBackends.FactoryOf(ComputeBackends.OpenCl);
        ComputeBackends.Register(ComputeBackends.OpenCl, () => new FailingDevice("none", new InvalidOperationException()));
        try
        {
            using var backend = ComputeBackends.Create("opencl");
            var wrapped = Assert.IsType<FallbackBackend>(backend);
            Assert.Equal("cpu", wrapped.Fallback.Name);
        }
        finally
        {
            ComputeBackends.Register(ComputeBackends.OpenCl, () => throw new InvalidOperationException("no OpenCL device in this test"));
        }
        try
        {
            var ex = Assert.Throws<InvalidInputException>(() => ComputeBackends.Create("opencl"));
            Assert.Contains("no OpenCL device", ex.Message);
        }
        finally
        {
            if (registered is not null) ComputeBackends.Register(ComputeBackends.OpenCl, registered);
        }
    }
}
