using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A weighted median whose weights are all equal is the median (<see cref="EqualWeights"/>): on ilgpu-cpu the median
/// kernels serve it (network up to 64 rows, sorted runs beyond) and agree with the exact path
/// (<see cref="EqualWeightRounds"/>); unequal weights keep the weighted kernels.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuEqualWeightsTests
{
    [Fact]
    public void An_equal_weight_weighted_median_runs_the_median_kernel_and_equals_the_exact_path()
    {
        using var device = IlgpuBackend.TryCreate("ilgpu-cpu") ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        var seed = TestSeed.Next();
        foreach (var (n, kernel) in new[] { (2, DenseCombineKernel.MedianNetwork), (9, DenseCombineKernel.MedianNetwork),
                     (64, DenseCombineKernel.MedianNetwork), (70, DenseCombineKernel.MedianSortedRuns) })
        {
            EqualWeightRounds.AgreeWithTheExactPath(device, seed + n, n, 13);
            Assert.Equal(kernel, device.LastCombineKernel);

            var batch = new DomainBatch(n, 5);
            batch.MarkChanged();
            var weights = Enumerable.Repeat(1.0, n).ToArray();
            weights[0] = 2;
            device.Combine(batch, Enumerable.Range(0, n).ToArray(), weights, AggregationMethod.WeightedMedian, 0.1, false, new float[5], default, null);
            Assert.NotEqual(kernel, device.LastCombineKernel);
        }
    }
}
