namespace Meta.Gpu.Tests.Support;

/// <summary>
/// The tests that open ILGPU contexts (the ilgpu-cpu backend, device listing, auto selection) run one at a time,
/// after the parallel ones. Repeated full runs failed about once in a dozen with wrong ilgpu-cpu results (a
/// masked median read 0, a fused prior read NaN) that never replayed with the same seed alone: the common factor
/// was several ILGPU contexts working at once in one process.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IlgpuCollection
{
    public const string Name = "ilgpu";
}
