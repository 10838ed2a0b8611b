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
