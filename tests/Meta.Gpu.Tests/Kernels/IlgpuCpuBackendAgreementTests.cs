using Meta.Gpu.Compute;
using Meta.Gpu.Tests.Compute;

namespace Meta.Gpu.Tests.Kernels;

/// <summary>
/// The shared agreement suite on ILGPU's CPU accelerator, which runs the very kernels the cuda and opencl
/// backends run. Sizes are a sample kept small: the accelerator is about a hundred times slower than plain C#.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuCpuBackendAgreementTests : BackendAgreementTests
{
    protected override IComputeBackend CreateBackend() => IlgpuBackend.Create("ilgpu-cpu");

    protected override IReadOnlyList<(int N, int D)> Sizes { get; } = [(1, 1), (2, 7), (5, 1000), (33, 7), (33, 1000), (257, 7)];

    protected override IReadOnlyList<(int N, int D)> CancellingSizes { get; } = [(13, 100), (64, 40)];
}

/// <summary>The same suite with the columns forced into chunks of 3 (the path a batch larger than device
/// memory takes).</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class IlgpuCpuChunkedAgreementTests : BackendAgreementTests
{
    protected override IComputeBackend CreateBackend()
    {
        var backend = IlgpuBackend.Create("ilgpu-cpu");
        backend.ChunkColumns = 3;
        return backend;
    }

    protected override IReadOnlyList<(int N, int D)> Sizes { get; } = [(2, 7), (5, 100), (33, 7)];

    protected override IReadOnlyList<(int N, int D)> CancellingSizes { get; } = [(13, 10)];
}
