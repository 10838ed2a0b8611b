using ILGPU;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>Every kernel of the engine, loaded (compiled) once per accelerator through <see cref="KernelLoading"/>
/// (PTX with every floating-point operation rounded); launches go on the accelerator's default stream.</summary>
public sealed class KernelSet
{
    public KernelSet(Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        var stream = accelerator.DefaultStream;
        var scanPartials = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, int, ArrayView<int>, ArrayView<int>>>(accelerator, RowScanKernels.Partials);
        ScanPartials = (a0, a1, a2, a3, a4) => scanPartials(stream, a0, a1, a2, a3, a4);
        var scanReduce = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, int, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>>>(accelerator, RowScanKernels.Reduce);
        ScanReduce = (a0, a1, a2, a3, a4, a5) => scanReduce(stream, a0, a1, a2, a3, a4, a5);
        var medians = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, int, int, ArrayView<double>>>(accelerator, ColumnMedianKernel.Run);
        Medians = (a0, a1, a2, a3, a4, a5) => medians(stream, a0, a1, a2, a3, a4, a5);
        var columnSent = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, int, ArrayView<int>>>(accelerator, RowDistanceKernels.ColumnSent);
        ColumnSent = (a0, a1, a2, a3, a4) => columnSent(stream, a0, a1, a2, a3, a4);
        var distancePartials = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, int, ArrayView<int>, int, ArrayView<double>, ArrayView<int>>>(accelerator, RowDistanceKernels.Partials);
        DistancePartials = (a0, a1, a2, a3, a4, a5, a6, a7, a8) => distancePartials(stream, a0, a1, a2, a3, a4, a5, a6, a7, a8);
        var distanceReduce = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, int, ArrayView<double>, ArrayView<int>, ArrayView<double>, ArrayView<int>>>(accelerator, RowDistanceKernels.Reduce);
        DistanceReduce = (a0, a1, a2, a3, a4, a5) => distanceReduce(stream, a0, a1, a2, a3, a4, a5);
        var combine = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>>(accelerator, CombineKernel.Run);
        Combine = (a0, a1, a2, a3, a4, a5, a6, a7) => combine(stream, a0, a1, a2, a3, a4, a5, a6, a7);
        var weightedMean = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>>(accelerator, WeightedMeanKernel.Run);
        WeightedMean = (a0, a1, a2, a3, a4, a5, a6, a7) => weightedMean(stream, a0, a1, a2, a3, a4, a5, a6, a7);
        var trimmedMeanNetwork = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>>>(accelerator, TrimmedMeanNetworkKernel.Run);
        TrimmedMeanNetwork = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9) => trimmedMeanNetwork(stream, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9);
        var medianNetwork = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>>(accelerator, MedianNetworkKernel.Combine);
        MedianNetwork = (a0, a1, a2, a3, a4, a5, a6, a7) => medianNetwork(stream, a0, a1, a2, a3, a4, a5, a6, a7);
        var weightedMedianNetwork = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>>(accelerator, WeightedMedianNetworkKernel.Combine);
        WeightedMedianNetwork = (a0, a1, a2, a3, a4, a5, a6, a7, a8) => weightedMedianNetwork(stream, a0, a1, a2, a3, a4, a5, a6, a7, a8);
        var sortedRunsMedian = KernelLoading.Grouped<Action<AcceleratorStream, KernelConfig, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>>(accelerator, SortedRunsMedianKernel.Combine);
        SortedRunsMedian = (a0, a1, a2, a3, a4, a5, a6, a7) => sortedRunsMedian(stream, a0, a1, a2, a3, a4, a5, a6, a7);
        var bitonicWeightedMedian = KernelLoading.Grouped<Action<AcceleratorStream, KernelConfig, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>>>(accelerator, BitonicWeightedMedianKernel.Combine);
        BitonicWeightedMedian = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9) => bitonicWeightedMedian(stream, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9);
        var sortedRunsTrimmedMean = KernelLoading.Grouped<Action<AcceleratorStream, KernelConfig, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>>>(accelerator, SortedRunsTrimmedMeanKernel.Combine);
        SortedRunsTrimmedMean = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9) => sortedRunsTrimmedMean(stream, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9);
        var sortedRunsMedians = KernelLoading.Grouped<Action<AcceleratorStream, KernelConfig, DenseMatrix, ArrayView<int>, int, int, ArrayView<double>>>(accelerator, SortedRunsMedianKernel.Medians);
        SortedRunsMedians = (a0, a1, a2, a3, a4, a5) => sortedRunsMedians(stream, a0, a1, a2, a3, a4, a5);
        var mediansNetwork = KernelLoading.AutoGrouped<Action<AcceleratorStream, Index1D, DenseMatrix, ArrayView<int>, int, int, ArrayView<double>>>(accelerator, MedianNetworkKernel.Medians);
        MediansNetwork = (a0, a1, a2, a3, a4, a5) => mediansNetwork(stream, a0, a1, a2, a3, a4, a5);
    }

    public Action<Index1D, DenseMatrix, int, ArrayView<int>, ArrayView<int>> ScanPartials { get; }

    public Action<Index1D, int, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>> ScanReduce { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, int, int, ArrayView<double>> Medians { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, int, ArrayView<int>> ColumnSent { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, int, ArrayView<int>, int, ArrayView<double>, ArrayView<int>> DistancePartials { get; }

    public Action<Index1D, int, ArrayView<double>, ArrayView<int>, ArrayView<double>, ArrayView<int>> DistanceReduce { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>> Combine { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>> WeightedMean { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>> TrimmedMeanNetwork { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>> MedianNetwork { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, int, int, ArrayView<double>> MediansNetwork { get; }

    public Action<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>> WeightedMedianNetwork { get; }

    /// <summary>Explicitly grouped: <see cref="SortedRuns.Launch"/> gives the configuration.</summary>
    public Action<KernelConfig, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>> SortedRunsMedian { get; }

    /// <summary>Explicitly grouped: <see cref="SortedRuns.Launch"/> gives the configuration.</summary>
    public Action<KernelConfig, DenseMatrix, ArrayView<int>, int, int, ArrayView<double>> SortedRunsMedians { get; }

    /// <summary>Explicitly grouped: <see cref="SortedRuns.Launch"/> gives the configuration.</summary>
    public Action<KernelConfig, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>> SortedRunsTrimmedMean { get; }

    /// <summary>Explicitly grouped: <see cref="SharedBitonicSort.Launch"/> gives the configuration.</summary>
    public Action<KernelConfig, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>> BitonicWeightedMedian { get; }
}
