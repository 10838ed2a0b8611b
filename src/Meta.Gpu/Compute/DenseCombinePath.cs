using Meta.Gpu.Kernels;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute;

/// <summary>The kernel an ILGPU combine runs (<see cref="IlgpuBackend.DenseKernels"/>): a dense kernel where one serves
/// the method, row count and mask, else the combine kernel's exact walks.</summary>
internal enum DenseCombineKernel
{
    /// <summary><see cref="CombineKernel"/>: every method, masks, any row count.</summary>
    Walks,
    WeightedMean,
    TrimmedMeanNetwork,
    TrimmedMeanSortedRuns,
    MedianNetwork,
    MedianSortedRuns,
    WeightedMedianNetwork,
    WeightedMedianBitonic,
}

/// <summary>Which kernel a combine runs, and the trim it runs with (floor(alpha x rows), as the combine kernel takes
/// it; 0 where the method has none).</summary>
internal readonly record struct DenseCombinePath(DenseCombineKernel Kernel, int Trim)
{
    /// <summary>Whether the kernel ran is a dense one (counted in <see cref="IlgpuBackend.DenseCombines"/>).</summary>
    public bool IsDense => Kernel != DenseCombineKernel.Walks;

    /// <summary>Whether the kernel takes the host's weight shares q_k (<see cref="IlgpuBackend.WeightShares"/>).</summary>
    public bool TakesShares => Kernel is DenseCombineKernel.WeightedMean or DenseCombineKernel.TrimmedMeanNetwork
        or DenseCombineKernel.TrimmedMeanSortedRuns or DenseCombineKernel.WeightedMedianNetwork or DenseCombineKernel.WeightedMedianBitonic;

    /// <summary>The path for a combine of <paramref name="rows"/> rows; the walks when <paramref name="denseKernels"/> is
    /// off or no dense kernel serves. A weighted median whose weights are all equal (<paramref name="equalWeights"/>,
    /// see <see cref="EqualWeights"/>) is the median: the median kernels serve it where they can (no row payload,
    /// no weights); a column they hand over is walked as the weighted median, which gives the same value.</summary>
    public static DenseCombinePath Choose(bool denseKernels, AggregationMethod method, int rows, bool hasMask, double trimAlpha,
        bool equalWeights = false, bool weightsSumNormally = true)
    {
        // Weights summing to 0 or overflowing (a direct backend call; the aggregator's are normalised) leave the
        // dense kernels' shares and fixed-point picks undefined: the exact kernel answers them as the cpu does.
        if (!denseKernels || !weightsSumNormally) return default;
        switch (method)
        {
            case AggregationMethod.Mean when !hasMask && rows > 0:
                return new(DenseCombineKernel.WeightedMean, 0);
            case AggregationMethod.TrimmedMean:
                var trim = (int)Math.Floor(trimAlpha * rows);
                if (TrimmedMeanNetworkKernel.Serves(rows, trim, hasMask)) return new(DenseCombineKernel.TrimmedMeanNetwork, trim);
                if (SortedRunsTrimmedMeanKernel.Serves(rows, trim, hasMask)) return new(DenseCombineKernel.TrimmedMeanSortedRuns, trim);
                return default;
            case AggregationMethod.Median:
                if (MedianNetworkKernel.Serves(rows, hasMask)) return new(DenseCombineKernel.MedianNetwork, 0);
                if (SortedRunsMedianKernel.Serves(rows, hasMask)) return new(DenseCombineKernel.MedianSortedRuns, 0);
                return default;
            case AggregationMethod.WeightedMedian:
                if (equalWeights && MedianNetworkKernel.Serves(rows, hasMask)) return new(DenseCombineKernel.MedianNetwork, 0);
                if (equalWeights && SortedRunsMedianKernel.Serves(rows, hasMask)) return new(DenseCombineKernel.MedianSortedRuns, 0);
                if (WeightedMedianNetworkKernel.Serves(rows, hasMask)) return new(DenseCombineKernel.WeightedMedianNetwork, 0);
                if (BitonicWeightedMedianKernel.Serves(rows, hasMask)) return new(DenseCombineKernel.WeightedMedianBitonic, 0);
                return default;
            default:
                return default;
        }
    }
}
