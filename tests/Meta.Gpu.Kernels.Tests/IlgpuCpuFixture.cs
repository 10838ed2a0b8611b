using Meta.Gpu.Compute;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>One ilgpu-cpu backend for the whole collection: the kernels compile once, and the tests that
/// change <see cref="IlgpuBackend.ChunkColumns"/> run one after another.</summary>
public sealed class IlgpuCpuFixture : IDisposable
{
    public IlgpuCpuFixture() =>
        Backend = IlgpuBackend.TryCreate("ilgpu-cpu") ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");

    public IlgpuBackend Backend { get; }

    public void Dispose() => Backend.Dispose();
}

[CollectionDefinition(Name)]
public sealed class IlgpuCpuCollection : ICollectionFixture<IlgpuCpuFixture>
{
    public const string Name = "ilgpu-cpu";
}
