using ILGPU;
using ILGPU.Runtime;

namespace Meta.Gpu.Kernels;

/// <summary>Every kernel of the engine, loaded (compiled) once per accelerator; launches go on the
/// accelerator's default stream.</summary>
public sealed class KernelSet
{
    public KernelSet(Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        ScanPartials = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, int, ArrayView<int>, ArrayView<int>>(RowScanKernels.Partials);
        ScanReduce = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>>(RowScanKernels.Reduce);
        Medians = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, int, int, ArrayView<double>>(ColumnMedianKernel.Run);
        ColumnSent = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, int, ArrayView<int>>(RowDistanceKernels.ColumnSent);
        DistancePartials = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, int, ArrayView<int>, int, ArrayView<double>, ArrayView<int>>(RowDistanceKernels.Partials);
        DistanceReduce = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<double>, ArrayView<int>, ArrayView<double>, ArrayView<int>>(RowDistanceKernels.Reduce);
        Combine = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>(CombineKernel.Run);
        WeightedMean = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>(WeightedMeanKernel.Run);
        TrimmedMeanNetwork = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>>(TrimmedMeanNetworkKernel.Run);
        MedianNetwork = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>(MedianNetworkKernel.Combine);
        WeightedMedianNetwork = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>(WeightedMedianNetworkKernel.Combine);
        SortedRunsMedian = accelerator.LoadStreamKernel<DenseMatrix, ArrayView<int>, ArrayView<double>, CombineSettings, ArrayView<float>, ArrayView<float>, ArrayView<int>>(SortedRunsMedianKernel.Combine);
        BitonicWeightedMedian = accelerator.LoadStreamKernel<DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>>(BitonicWeightedMedianKernel.Combine);
        SortedRunsTrimmedMean = accelerator.LoadStreamKernel<DenseMatrix, ArrayView<int>, ArrayView<double>, ArrayView<double>, CombineSettings, int, ArrayView<float>, ArrayView<float>, ArrayView<int>>(SortedRunsTrimmedMeanKernel.Combine);
        SortedRunsMedians = accelerator.LoadStreamKernel<DenseMatrix, ArrayView<int>, int, int, ArrayView<double>>(SortedRunsMedianKernel.Medians);
        MediansNetwork = accelerator.LoadAutoGroupedStreamKernel<Index1D, DenseMatrix, ArrayView<int>, int, int, ArrayView<double>>(MedianNetworkKernel.Medians);
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
