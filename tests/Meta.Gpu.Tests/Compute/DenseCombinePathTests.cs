using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>Which kernel an ILGPU combine runs: the register networks up to their limits, the shared-memory sorts up to
/// 256 rows beyond them, the walks with a mask, beyond 256 rows or with the dense kernels off.</summary>
public sealed class DenseCombinePathTests
{
    [Theory]
    [InlineData(AggregationMethod.Mean, 1, false, 0.1, "WeightedMean", 0)]
    [InlineData(AggregationMethod.Mean, 300, false, 0.1, "WeightedMean", 0)]
    [InlineData(AggregationMethod.Mean, 40, true, 0.1, "Walks", 0)]
    [InlineData(AggregationMethod.TrimmedMean, 256, false, 0.1, "TrimmedMeanNetwork", 25)]
    [InlineData(AggregationMethod.TrimmedMean, 100, false, 0.31, "TrimmedMeanNetwork", 31)]
    [InlineData(AggregationMethod.TrimmedMean, 256, false, 0.125, "TrimmedMeanSortedRuns", 32)]
    [InlineData(AggregationMethod.TrimmedMean, 128, false, 0.49, "TrimmedMeanSortedRuns", 62)]
    [InlineData(AggregationMethod.TrimmedMean, 257, false, 0.2, "Walks", 51)]
    [InlineData(AggregationMethod.TrimmedMean, 9, false, 0.1, "Walks", 0)]   // trim 0: the walks' weighted mean
    [InlineData(AggregationMethod.TrimmedMean, 100, true, 0.1, "Walks", 10)]
    [InlineData(AggregationMethod.Median, 64, false, 0.1, "MedianNetwork", 0)]
    [InlineData(AggregationMethod.Median, 65, false, 0.1, "MedianSortedRuns", 0)]
    [InlineData(AggregationMethod.Median, 256, false, 0.1, "MedianSortedRuns", 0)]
    [InlineData(AggregationMethod.Median, 257, false, 0.1, "Walks", 0)]
    [InlineData(AggregationMethod.Median, 1, false, 0.1, "Walks", 0)]
    [InlineData(AggregationMethod.WeightedMedian, 2, false, 0.1, "WeightedMedianNetwork", 0)]
    [InlineData(AggregationMethod.WeightedMedian, 65, false, 0.1, "WeightedMedianBitonic", 0)]
    [InlineData(AggregationMethod.WeightedMedian, 200, true, 0.1, "Walks", 0)]
    public void Choose_PicksTheKernelThatServes(AggregationMethod method, int rows, bool mask, double alpha, string expected, int trim)
    {
        // The kernel by name: the enum is internal, and a public test method cannot take it.
        var kernel = Enum.Parse<DenseCombineKernel>(expected);
        var path = DenseCombinePath.Choose(denseKernels: true, method, rows, mask, alpha);
        Assert.Equal(kernel, path.Kernel);
        if (kernel != DenseCombineKernel.Walks) Assert.Equal(trim, path.Trim);
        Assert.Equal(kernel != DenseCombineKernel.Walks, path.IsDense);
    }

    /// <summary>Equal weights make the weighted median the median (<see cref="EqualWeights"/>): the median kernels
    /// serve it where they serve the median, the weighted kernels or the walks elsewhere.</summary>
    [Theory]
    [InlineData(64, false, "MedianNetwork")]
    [InlineData(2, false, "MedianNetwork")]
    [InlineData(200, false, "MedianSortedRuns")]
    [InlineData(1, false, "Walks")]
    [InlineData(300, false, "Walks")]
    [InlineData(64, true, "Walks")]
    public void Choose_RunsTheMedianKernelsForAWeightedMedianOfEqualWeights(int rows, bool mask, string expected)
    {
        var path = DenseCombinePath.Choose(denseKernels: true, AggregationMethod.WeightedMedian, rows, mask, 0.1, equalWeights: true);
        Assert.Equal(Enum.Parse<DenseCombineKernel>(expected), path.Kernel);
    }

    [Fact]
    public void DenseKernelsOff_AlwaysWalks()
    {
        foreach (var method in Enum.GetValues<AggregationMethod>())
            Assert.Equal(DenseCombineKernel.Walks, DenseCombinePath.Choose(denseKernels: false, method, 100, false, 0.1).Kernel);
    }

    [Fact]
    public void OnlyTheMediansGoWithoutTheHostsShares()
    {
        Assert.False(new DenseCombinePath(DenseCombineKernel.MedianNetwork, 0).TakesShares);
        Assert.False(new DenseCombinePath(DenseCombineKernel.MedianSortedRuns, 0).TakesShares);
        Assert.False(new DenseCombinePath(DenseCombineKernel.Walks, 0).TakesShares);
        foreach (var kernel in new[] { DenseCombineKernel.WeightedMean, DenseCombineKernel.TrimmedMeanNetwork, DenseCombineKernel.TrimmedMeanSortedRuns,
                     DenseCombineKernel.WeightedMedianNetwork, DenseCombineKernel.WeightedMedianBitonic })
            Assert.True(new DenseCombinePath(kernel, 1).TakesShares);
    }
}
