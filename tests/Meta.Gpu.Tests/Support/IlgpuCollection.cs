namespace Meta.Gpu.Tests.Support;

/// <summary>
/// The tests that open ILGPU contexts (the ilgpu-cpu backend, device listing, auto selection) run one at a time,
/// after the parallel ones: each context starts its own worker threads, and this machine has 2 cores. The wrong
/// ilgpu-cpu results once blamed on several contexts at work (a masked median read 0, a fused prior read NaN,
/// never replayed with the same seed) were device copies of small unpinned arrays that a garbage collection moved
/// mid-copy: fixed in <c>Meta.Gpu.Kernels.Copy</c>, caught by <c>HostCopyTests</c>.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IlgpuCollection
{
    public const string Name = "ilgpu";
}
