using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The cpu backend, fast kernels on, over the full size matrix.</summary>
public sealed class CpuBackendAgreementTests : BackendAgreementTests
{
    protected override IComputeBackend CreateBackend() => new CpuBackend();
}

/// <summary>The cpu backend's exact path alone (the path the fast kernels fall back to), at small sizes.</summary>
public sealed class CpuExactPathAgreementTests : BackendAgreementTests
{
    protected override IComputeBackend CreateBackend() => new CpuBackend { UseFastKernels = false };

    protected override IReadOnlyList<(int N, int D)> Sizes { get; } = [(1, 7), (5, 7), (33, 1000), (257, 7)];
}
