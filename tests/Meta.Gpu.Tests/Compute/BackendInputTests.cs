using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// Every backend answers bad Combine input the same way: a negative or non-finite weight, a trim_alpha outside
/// [0, 0.5), or a non-finite beta, is an ArgumentException naming the argument, thrown before the aggregate or the
/// prior is touched.
/// (The cpu backend used to aggregate a NaN weight into NaN columns reported as empty, where ilgpu-cpu refused it.)
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class BackendInputTests
{
    public static TheoryData<string, bool> Backends => new()
    {
        { ComputeBackends.Cpu, true },
        { ComputeBackends.Cpu, false },
        { ComputeBackends.IlgpuCpu, true },
    };

    [Theory]
    [MemberData(nameof(Backends))]
    public void Bad_weights_and_trim_are_rejected_before_anything_is_written(string name, bool fastKernels)
    {
        using var backend = name == ComputeBackends.Cpu ? new CpuBackend { UseFastKernels = fastKernels } : ComputeBackends.Create(name);
        const int n = 16, d = 40;
        var batch = new DomainBatch(n, d);
        var rng = new Random(5);
        for (var r = 0; r < n; r++)
        for (var c = 0; c < d; c++)
            batch.Row(r)[c] = (float)rng.NextDouble();
        batch.MarkChanged();
        var rows = Enumerable.Range(0, n).ToArray();
        var step = new ReptileStep(ReptileRule.Interpolate, 0.5);

        foreach (var bad in new[] { -0.1, double.NaN, double.PositiveInfinity })
        {
            var weights = Enumerable.Repeat(1.0 / n, n).ToArray();
            weights[n / 2] = bad;
            foreach (var method in Enum.GetValues<AggregationMethod>())
            {
                var aggregate = Enumerable.Repeat(7f, d).ToArray();
                var prior = Enumerable.Repeat(3f, d).ToArray();
                var error = Assert.ThrowsAny<ArgumentException>(() =>
                    backend.Combine(batch, rows, weights, method, 0.1, false, aggregate, prior, step));
                Assert.Equal("weights", error.ParamName);
                Assert.All(aggregate, v => Assert.Equal(7f, v));
                Assert.All(prior, v => Assert.Equal(3f, v));
            }
        }

        foreach (var alpha in new[] { -0.01, 0.5, double.NaN })
        {
            var aggregate = Enumerable.Repeat(7f, d).ToArray();
            var prior = Enumerable.Repeat(3f, d).ToArray();
            var weights = Enumerable.Repeat(1.0 / n, n).ToArray();
            var error = Assert.ThrowsAny<ArgumentException>(() =>
                backend.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, alpha, false, aggregate, prior, step));
            Assert.Equal("trimAlpha", error.ParamName);
            Assert.All(aggregate, v => Assert.Equal(7f, v));
            Assert.All(prior, v => Assert.Equal(3f, v));
        }

        // A non-finite beta would make every prior value NaN (the cpu backend used to step it so).
        foreach (var beta in new[] { double.NaN, double.PositiveInfinity })
        foreach (var rule in new[] { ReptileRule.Interpolate, ReptileRule.Delta })
        {
            var aggregate = Enumerable.Repeat(7f, d).ToArray();
            var prior = Enumerable.Repeat(3f, d).ToArray();
            var weights = Enumerable.Repeat(1.0 / n, n).ToArray();
            var error = Assert.ThrowsAny<ArgumentException>(() =>
                backend.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, aggregate, prior, new ReptileStep(rule, beta)));
            Assert.Equal("step", error.ParamName);
            Assert.All(aggregate, v => Assert.Equal(7f, v));
            Assert.All(prior, v => Assert.Equal(3f, v));
        }
    }
}
