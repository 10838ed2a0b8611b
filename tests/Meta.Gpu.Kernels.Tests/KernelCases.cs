namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// A sampled subset of N in {1, 2, 5, 33} x D in {1, 7, 100, 1000} with masks, ties and attackers, small enough
/// for ILGPU's CPU accelerator (about a hundred times slower than plain C#). Columns: rows, columns, mask,
/// ties, attackers, seed.
/// </summary>
public static class KernelCases
{
    public static TheoryData<int, int, bool, bool, int, int> Shapes => new()
    {
        { 1, 1, false, false, 0, 11 },
        { 1, 100, true, false, 0, 12 },
        { 2, 7, false, true, 0, 13 },
        { 2, 1000, true, false, 0, 14 },
        { 5, 1, true, true, 0, 15 },
        { 5, 100, false, false, 1, 16 },
        { 5, 1000, true, true, 2, 17 },
        { 33, 7, true, false, 3, 18 },
        { 33, 100, false, true, 4, 19 },
        { 33, 1000, true, false, 5, 20 },
    };
}
