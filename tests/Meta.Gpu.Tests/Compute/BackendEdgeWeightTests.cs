using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// Combine weights at the edges of what a backend takes ("finite and >= 0"): a zero weight is accepted and its
/// row takes no weighted part, and equal weights too large or too small for their sums to be exact do not take
/// the median shortcut; in both cases the result is the float64 reference's column rule.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class BackendEdgeWeightTests
{
    public static TheoryData<string, bool> Backends => new()
    {
        { ComputeBackends.Cpu, true },
        { ComputeBackends.Cpu, false },
        { ComputeBackends.IlgpuCpu, true },
    };

    private static IComputeBackend Create(string name, bool fastKernels) =>
        name == ComputeBackends.Cpu ? new CpuBackend { UseFastKernels = fastKernels } : ComputeBackends.Create(name);

    /// <summary>Three rows, one column per row of values (1, 2, 3) shifted by the column.</summary>
    private static DomainBatch Batch(int d)
    {
        var batch = new DomainBatch(3, d);
        for (var r = 0; r < 3; r++)
        for (var c = 0; c < d; c++)
            batch.Row(r)[c] = r + 1 + c;
        batch.MarkChanged();
        return batch;
    }

    private static double Reference(AggregationMethod method, double[] weights, int column) =>
        ColumnRules.Combine(method, [.. weights.Select((w, r) => new ColumnCell(r + 1 + column, w, r))], 0.0);

    [Theory]
    [MemberData(nameof(Backends))]
    public void A_zero_weight_is_accepted_and_its_row_takes_no_weighted_part(string name, bool fastKernels)
    {
        using var backend = Create(name, fastKernels);
        const int d = 8;
        var batch = Batch(d);
        double[] weights = [0.0, 0.5, 0.5];
        foreach (var method in new[] { AggregationMethod.Mean, AggregationMethod.TrimmedMean, AggregationMethod.WeightedMedian })
        {
            var aggregate = new float[d];
            backend.Combine(batch, [0, 1, 2], weights, method, 0.0, false, aggregate, Span<float>.Empty, null);
            for (var c = 0; c < d; c++)
                Assert.True(Math.Abs(Reference(method, weights, c) - aggregate[c]) <= 1e-5, $"{method} column {c}: {aggregate[c]}, expected {Reference(method, weights, c)}");
        }
        // The mean of rows 1 and 2 only: 2.5 + c.
        var mean = new float[d];
        backend.Combine(batch, [0, 1, 2], weights, AggregationMethod.Mean, 0.0, false, mean, Span<float>.Empty, null);
        Assert.Equal(2.5f, mean[0]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Equal_weights_beyond_the_exact_range_give_the_reference_weighted_median(string name, bool fastKernels)
    {
        using var backend = Create(name, fastKernels);
        const int d = 8;
        var batch = Batch(d);
        foreach (var w in new[] { 1e308, 1e-310 })
        {
            var weights = new[] { w, w, w };
            var aggregate = new float[d];
            backend.Combine(batch, [0, 1, 2], weights, AggregationMethod.WeightedMedian, 0.0, false, aggregate, Span<float>.Empty, null);
            for (var c = 0; c < d; c++)
                Assert.True(Math.Abs(Reference(AggregationMethod.WeightedMedian, weights, c) - aggregate[c]) <= 1e-5,
                    $"w = {w:R} column {c}: {aggregate[c]}, expected {Reference(AggregationMethod.WeightedMedian, weights, c)}");
        }
    }
}
