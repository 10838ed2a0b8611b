using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>What the trimmed mean's streamed selection pass sorts: eight columns of int keys per Vector256
/// (<see cref="KeyLanes256"/>), or sixteen per Vector512, as int keys (<see cref="KeyLanes512"/>) or as the floats
/// themselves (<see cref="FloatKeyLanes512"/>); pass 2 then runs on vectors of the same width. Every choice gives the
/// same results; they differ in speed only.</summary>
internal enum SelectionLanes
{
    Vector256Ints,
    Vector512Ints,
    Vector512Floats,
}

/// <summary>The fastest <see cref="SelectionLanes"/> on this machine, as measured (benchmarks/HISTORY.md).</summary>
internal static class FastestSelectionLanes
{
    /// <summary>
    /// Vector256 int keys without AVX-512 (vpminsd/vpmaxsd issue about twice as fast as vminps/vmaxps on the AVX2
    /// Zen 3 measured). With AVX-512 on an Intel CPU, Vector512 floats: on the Xeon (Emerald Rapids) measured,
    /// 512-bit vminps/vmaxps issue about 1.5 times as fast as 512-bit vpminsd/vpmaxsd, and floats need no key
    /// conversion (three instructions a cell). Elsewhere with AVX-512 (AMD's Zen 4 and later, which split a 512-bit
    /// operation in two), Vector512 int keys: on the 2-core Zen 4 EPYC measured (thirty-first session, probe,
    /// alternated) int keys and floats took the same time at 64 x 65,536 (0.80-0.86 ms against 0.84-0.86), and
    /// Vector256 int keys were slower streamed at 64 x 1M (minimums 14.1-16.9 ms against 13.7-15.5).
    /// </summary>
    public static SelectionLanes OnThisMachine { get; } =
        !Vector512.IsHardwareAccelerated ? SelectionLanes.Vector256Ints
        : CpuVendor.IsIntel ? SelectionLanes.Vector512Floats
        : SelectionLanes.Vector512Ints;
}
