using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// Calls straight to a backend (the aggregator never makes them) that every backend must answer alike: behind a
/// <see cref="FallbackBackend"/> a device's answer and the cpu's after a device failure are one answer.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class BackendEdgeInputTests
{
    private static readonly ReptileStep Step = new(ReptileRule.Interpolate, 0.5);

    private static DomainBatch Batch()
    {
        var batch = new DomainBatch(3, 5);
        for (var r = 0; r < 3; r++) batch.Row(r).Fill(r + 1f);
        batch.MarkChanged();
        return batch;
    }

    [Theory]
    [InlineData(ComputeBackends.Cpu)]
    [InlineData(ComputeBackends.IlgpuCpu)]
    public void Every_backend_refuses_an_aggregate_or_a_prior_longer_than_D(string name)
    {
        // The ILGPU backends took a longer span and wrote only its first D values; the cpu refused it.
        using var backend = ComputeBackends.Create(name);
        var batch = Batch();
        int[] rows = [0, 1, 2];
        double[] weights = [0.2, 0.3, 0.5];

        var aggregate = Enumerable.Repeat(7f, 6).ToArray();
        var error = Assert.ThrowsAny<ArgumentException>(() =>
            backend.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, aggregate, default, null));
        Assert.Equal("aggregate", error.ParamName);
        Assert.All(aggregate, v => Assert.Equal(7f, v));

        var prior = Enumerable.Repeat(3f, 6).ToArray();
        error = Assert.ThrowsAny<ArgumentException>(() =>
            backend.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, default, prior, Step));
        Assert.Equal("prior", error.ParamName);
        Assert.All(prior, v => Assert.Equal(3f, v));

        var resident = new ResidentPrior(Enumerable.Repeat(3f, 6).ToArray());
        Assert.ThrowsAny<ArgumentException>(() =>
            backend.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, default, resident, Step));
        Assert.All(resident.Values, v => Assert.Equal(3f, v));
    }

    [Theory]
    [InlineData(ComputeBackends.Cpu)]
    [InlineData(ComputeBackends.IlgpuCpu)]
    public void An_unscanned_combine_over_no_rows_equals_the_combine(string name)
    {
        // No rows leave every column empty (NaN), which the cpu's check took for a non-finite cell: null.
        using var backend = ComputeBackends.Create(name);
        var aggregate = new float[5];
        var prior = new float[] { 1, 2, 3, 4, 5 };

        var empty = backend.CombineUnscanned(Batch(), [], [], AggregationMethod.Mean, 0.1, aggregate, prior, Step);

        Assert.Equal(5, empty);
        Assert.All(aggregate, v => Assert.True(float.IsNaN(v)));
        Assert.Equal([1f, 2f, 3f, 4f, 5f], prior);
    }

    [Theory]
    [InlineData(AggregationMethod.WeightedMedian, 0.0)]
    [InlineData(AggregationMethod.WeightedMedian, 1e308)]
    public void Weights_that_sum_to_zero_or_overflow_give_the_cpu_answer_on_ilgpu(AggregationMethod method, double weight)
    {
        // The dense device kernels assume a positive, finite sum: all-zero weights made the weighted median network
        // pick another value than the cpu, whose exact path the cpu tests pin for such weights.
        using var cpu = ComputeBackends.Create(ComputeBackends.Cpu);
        using var device = ComputeBackends.Create(ComputeBackends.IlgpuCpu);
        var batch = new DomainBatch(5, 37);
        var rng = new Random(11);
        for (var r = 0; r < 5; r++)
            for (var c = 0; c < 37; c++) batch.Row(r)[c] = (float)(rng.NextDouble() * 4 - 2);
        batch.MarkChanged();
        int[] rows = [0, 1, 2, 3, 4];
        var weights = Enumerable.Repeat(weight, 5).ToArray();
        var expected = new float[37];
        var actual = new float[37];
        var expectedEmpty = cpu.Combine(batch, rows, weights, method, 0.2, false, expected, default, null);
        var actualEmpty = device.Combine(batch, rows, weights, method, 0.2, false, actual, default, null);
        Assert.Equal(expectedEmpty, actualEmpty);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
    }
}
