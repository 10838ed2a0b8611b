using System.Collections.Concurrent;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The same agreement checks on real devices: they run where a CUDA or OpenCL device exists (the GPU machine of
/// DEVICE.md) and are reported as skipped elsewhere, never as passed.
/// </summary>
public sealed class GpuDeviceTests
{
    public static TheoryData<string> Kinds => new() { "cuda", "opencl" };

    /// <summary>Kinds a test of this run found unusable. A device ILGPU lists but cannot compile for (the GPU machine's
    /// NVIDIA OpenCL) fails only after compiling the kernels, seconds each time: once is enough, so the device time of
    /// a GPU call goes to the tests that run.</summary>
    private static readonly ConcurrentDictionary<string, bool> Unusable = new();

    private static IlgpuBackend Open(string kind)
    {
        if (Unusable.ContainsKey(kind)) Assert.Skip($"no usable {kind} device on this machine (found by an earlier test)");
        var backend = IlgpuBackend.TryCreate(kind);
        if (backend is null)
        {
            Unusable[kind] = true;
            Assert.Skip($"no usable {kind} device on this machine");
        }
        return backend;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Kernels_AgreeWithTheFloat64Reference(string kind)
    {
        using var backend = Open(kind);
        Assert.Equal(kind, backend.Name);
        foreach (var (shape, seed) in new (BatchShape, int)[]
                 {
                     (new BatchShape(1, 7, Mask: false, Ties: false), 101),
                     (new BatchShape(5, 1000, Mask: true, Ties: true, Attackers: 1), 102),
                     (new BatchShape(33, 1000, Mask: false, Ties: false, Attackers: 4), 103),
                     (new BatchShape(64, 4096, Mask: true, Ties: true, Attackers: 6), 104),
                     (new BatchShape(257, 3000, Mask: false, Ties: false, Attackers: 20), 105),
                 })
        {
            AgreementChecks.Scan(backend, shape, seed);
            AgreementChecks.MediansAndDistances(backend, shape, seed);
            AgreementChecks.Combine(backend, shape, seed, everyCombination: true);
        }
    }

    /// <summary>Products rounded apart from their sums, as the reference rounds them: ptxas fuses ILGPU's plain
    /// PTX products into the sums unless <see cref="RoundedPtx"/> forbids it.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void CancellingProducts_AgreeWithTheUnfusedReference(string kind)
    {
        using var backend = Open(kind);
        CancellingProductTests.AgreeWithUnfusedProducts(backend);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TheDenseKernels_SettlePlainColumnsThemselves(string kind)
    {
        using var backend = Open(kind);
        foreach (var (method, rows, alpha) in new (AggregationMethod, int, double)[]
                 {
                     (AggregationMethod.TrimmedMean, 256, 0.1), (AggregationMethod.TrimmedMean, 200, 0.2),
                     (AggregationMethod.Median, 64, 0.1), (AggregationMethod.Median, 256, 0.1),
                     (AggregationMethod.WeightedMedian, 64, 0.1), (AggregationMethod.WeightedMedian, 256, 0.1),
                 })
            DenseKernelHandOverTests.SettlesPlainColumns(backend, method, rows, alpha);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TheTrimmedMeanKernels_SettleTiesThemselves(string kind)
    {
        using var backend = Open(kind);
        DenseKernelHandOverTests.SettlesTiesItself(backend, 256, leading: true);
        DenseKernelHandOverTests.SettlesTiesItself(backend, 256, leading: false);
        DenseKernelHandOverTests.SettlesTiesItself(backend, 45, leading: true);
        DenseKernelHandOverTests.SettlesTiesItself(backend, 200, leading: true, alpha: 0.2);   // the sorted runs
        DenseKernelHandOverTests.SettlesTiesItself(backend, 129, leading: false, alpha: 0.3);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TheMedianKernels_FindAZeroInTheMiddleThemselves(string kind)
    {
        using var backend = Open(kind);
        foreach (var rows in new[] { 9, 64, 65, 256 }) MedianNetworkTests.ZeroInTheMiddle(backend, rows);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TheSortedRunsMedian_MatchesTheWalks_OnDealtCellsAndListedRows(string kind)
    {
        using var backend = Open(kind);
        WideMedianTests.DealtToTheRuns(backend, 256);
        WideMedianTests.DealtToTheRuns(backend, 97);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.Median, 200, 3001, ties: true, attackers: 16, alpha: 0.1, leading: false);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TheDenseKernels_MatchTheCombineKernel(string kind)
    {
        using var backend = Open(kind);
        // The most rows and the longest trim the network kernel serves, columns past a group, ties at boundaries.
        DenseKernelTests.MatchesTheExactWalks(backend, 256, 4099, ties: false, attackers: 20, alpha: 0.1);
        DenseKernelTests.MatchesTheExactWalks(backend, 256, 2053, ties: true, attackers: 0, alpha: 0.12);
        DenseKernelTests.MatchesTheExactWalks(backend, 64, 65537, ties: false, attackers: 6, alpha: 0.1);
        DenseKernelTests.MatchesTheExactWalks(backend, 33, 1000, ties: true, attackers: 3, alpha: 0.31);
        DenseKernelTests.MatchesTheExactWalks(backend, 256, 4099, ties: true, attackers: 20, alpha: 0.25);
        DenseKernelTests.MatchesTheExactWalks(backend, 100, 3001, ties: false, attackers: 8, alpha: 0.4);
        // Rows looked up: a list that leaves a row out.
        DenseKernelTests.MatchesTheExactWalks(backend, 256, 4099, ties: true, attackers: 20, alpha: 0.1, leading: false);
        DenseKernelTests.MatchesTheExactWalks(backend, 77, 3001, ties: false, attackers: 6, alpha: 0.1, leading: false);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.Mean, 256, 4099, ties: false, attackers: 20, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.Mean, 1, 65537, ties: false, attackers: 0, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.Median, 64, 65537, ties: false, attackers: 6, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.Median, 33, 4099, ties: true, attackers: 3, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.WeightedMedian, 64, 65537, ties: false, attackers: 6, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.WeightedMedian, 33, 4099, ties: true, attackers: 3, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.WeightedMedian, 32, 1000, ties: true, attackers: 3, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.WeightedMedian, 256, 4099, ties: true, attackers: 20, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.WeightedMedian, 100, 3001, ties: false, attackers: 8, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.Median, 256, 4099, ties: false, attackers: 20, alpha: 0.1);
        DenseKernelTests.MatchesTheCombineKernel(backend, AggregationMethod.Median, 100, 10007, ties: true, attackers: 8, alpha: 0.1);
        foreach (var (rows, columns) in new[] { (63, 10007), (256, 4099), (129, 3001) })
        {
            var batch = RandomBatch.Create(new BatchShape(rows, columns, Mask: false, Ties: true, Attackers: rows / 12), 7 + rows);
            var list = Enumerable.Range(0, rows).ToArray();
            MedianNetworkTests.MatchTheWalks(backend, batch, list);
        }
        Assert.True(backend.LastKernelTime > TimeSpan.Zero);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AResidentPrior_IsUploadedOnce_AndSteppedAsTheSpanPathSteps(string kind)
    {
        using var backend = Open(kind);
        ResidentPriorTests.SteadyRoundsUploadOnce(backend, 64, 65537, AggregationMethod.TrimmedMean);
        ResidentPriorTests.SteadyRoundsUploadOnce(backend, 256, 4099, AggregationMethod.Mean);
    }

    /// <summary>Random whole rounds on awkward data (<see cref="Meta.Gpu.Tests.Compute.AwkwardRounds"/>) against the
    /// cpu backend's exact path, a fresh seed each run (in every failure message); the row counts reach the device's
    /// network kernels (up to 64 rows), its sorted-runs kernels (65 to 256) and the walks past them.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void RandomRounds_OnAwkwardData_AgreeWithTheCpuExactPath(string kind)
    {
        using var backend = Open(kind);
        Meta.Gpu.Tests.Compute.AwkwardRounds.AgreeWithTheExactPath(backend, Random.Shared.Next(), 400, [1, 7, 8, 33, 257, 4099],
            [.. Meta.Gpu.Tests.Compute.AwkwardRounds.RowCounts, 128, 200, 256, 257]);
    }

    /// <summary>A weighted median of equal weights, which the device runs on its median kernels
    /// (<see cref="Meta.Gpu.Tests.Compute.EqualWeightRounds"/>): network, sorted runs, and past both (the walks).</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void EqualWeightWeightedMedians_AgreeWithTheCpuExactPath(string kind)
    {
        using var backend = Open(kind);
        var seed = Random.Shared.Next();
        foreach (var rows in new[] { 2, 9, 64, 65, 256, 300 })
            Meta.Gpu.Tests.Compute.EqualWeightRounds.AgreeWithTheExactPath(backend, seed + rows, rows, 4099);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ForcedChunks_AgreeWithTheReference(string kind)
    {
        using var backend = Open(kind);
        backend.ChunkColumns = 1000;
        var shape = new BatchShape(40, 4500, Mask: true, Ties: true, Attackers: 3);
        AgreementChecks.Scan(backend, shape, 201);
        AgreementChecks.MediansAndDistances(backend, shape, 201);
        AgreementChecks.Combine(backend, shape, 201);
        Assert.Equal(5, backend.LastChunkCount);
    }
}
