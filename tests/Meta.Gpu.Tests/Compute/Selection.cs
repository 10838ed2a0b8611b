using Meta.Gpu.Compute.Cpu;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The lanes of the cpu trimmed mean's selection pass, as test data names them (the kernel's own
/// <see cref="SelectionLanes"/> is internal). Each is tested on every machine; without AVX-512 the runtime emulates
/// Vector512 (correct, slow).</summary>
public enum Selection
{
    Vector256,
    Vector512Ints,
    Vector512Floats,
}

internal static class SelectionExtensions
{
    public static SelectionLanes Lanes(this Selection selection) => selection switch
    {
        Selection.Vector256 => SelectionLanes.Vector256Ints,
        Selection.Vector512Ints => SelectionLanes.Vector512Ints,
        Selection.Vector512Floats => SelectionLanes.Vector512Floats,
        _ => throw new ArgumentOutOfRangeException(nameof(selection), selection, null),
    };
}
