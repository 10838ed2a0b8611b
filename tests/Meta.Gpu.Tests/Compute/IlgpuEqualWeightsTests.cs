using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A weighted median whose weights are all equal is the median (<see cref="EqualWeights"/>): on ilgpu-cpu the median
/// kernels serve it and give the exact path's weighted median, with ties and zeros of both signs in the middle.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuEqualWeightsTests
{
    [Fact]
    public void An_equal_weight_weighted_median_runs_the_median_kernel_and_equals_the_exact_path()
    {
        using var device = IlgpuBackend.TryCreate("ilgpu-cpu") ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        using var exact = new CpuBackend { UseFastKernels = false };
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        foreach (var (n, kernel) in new[] { (2, DenseCombineKernel.MedianNetwork), (9, DenseCombineKernel.MedianNetwork),
                     (64, DenseCombineKernel.MedianNetwork), (70, DenseCombineKernel.MedianSortedRuns) })
        {
            const int d = 13;
            var batch = new DomainBatch(n, d);
            for (var r = 0; r < n; r++)
            for (var c = 0; c < d; c++)
                batch.Row(r)[c] = c % 3 == 0 ? rng.Next(4) * 0.5f : c % 3 == 1 ? (float)(rng.NextDouble() * 4 - 2) : rng.Next(2) == 0 ? 0f : -0f;
            batch.MarkChanged();
            var rows = Enumerable.Range(0, n).ToArray();
            var weights = Enumerable.Repeat(1.0 / n, n).ToArray();
            var expected = new float[d];
            var actual = new float[d];
            exact.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, expected, default, null);
            device.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, actual, default, null);
            Assert.Equal(kernel, device.LastCombineKernel);
            for (var c = 0; c < d; c++)
                Assert.True(expected[c] == actual[c] || float.IsNaN(expected[c]) && float.IsNaN(actual[c]),
                    $"seed {seed}, n={n}, column {c}: {actual[c]} vs {expected[c]}");

            // Unequal weights keep the weighted kernels.
            weights[0] *= 2;
            device.Combine(batch, rows, weights, AggregationMethod.WeightedMedian, 0.1, false, actual, default, null);
            Assert.NotEqual(kernel, device.LastCombineKernel);
        }
    }
}
