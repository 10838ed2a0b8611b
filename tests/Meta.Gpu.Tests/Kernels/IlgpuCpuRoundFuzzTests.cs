using Meta.Gpu.Compute;
using Meta.Gpu.Tests.Compute;

namespace Meta.Gpu.Tests.Kernels;

/// <summary>
/// The round fuzz on ILGPU's CPU accelerator, which runs the very kernels the cuda and opencl backends run: fewer
/// rounds and narrower batches, the accelerator being about a hundred times slower than plain C#.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuCpuRoundFuzzTests : RoundFuzzTests
{
    protected override IComputeBackend CreateBackend() => IlgpuBackend.Create("ilgpu-cpu");

    protected override int Rounds => 120;

    protected override IReadOnlyList<int> ColumnCounts { get; } = [1, 7, 8, 33];
}

/// <summary>The same with the columns forced into chunks of 5 (the path a batch larger than device memory takes).</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuCpuChunkedRoundFuzzTests : RoundFuzzTests
{
    protected override IComputeBackend CreateBackend()
    {
        var backend = IlgpuBackend.Create("ilgpu-cpu");
        backend.ChunkColumns = 5;
        return backend;
    }

    protected override int Rounds => 60;

    protected override IReadOnlyList<int> ColumnCounts { get; } = [7, 8, 33];
}
