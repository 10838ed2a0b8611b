using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// How wide the trimmed mean's streamed selection pass makes its blocks on this machine, as a multiple of its lists'
/// L1-sized block (<see cref="IExtremeLists.BlockColumns"/>), as measured (benchmarks/HISTORY.md).
/// </summary>
/// <remarks>
/// 1 on Intel and without AVX-512: on the Xeon measured, lists that outgrew its 48 KiB L1 (blocks of 512 columns
/// for lists of seven) ran 14 % slower on one core; the AVX2 Zen 3 was not measured wider. 4 with AVX-512 elsewhere
/// (AMD's Zen 4): on the 2-core Zen 4 EPYC measured (thirty-first session, probe, alternated, 64 x 1M, minimums)
/// the trimmed mean took 11.3-12.4 ms in blocks of 1,024 columns against 13.0-13.7 in blocks of 256 (2,048: 11.4-13.1,
/// 4,096: 12.1-12.5); with a trim of 0.2 (lists of sixteen) 14.8-15.0 against 15.7-16.2, with lists of eight
/// 11.7-13.4 against 13.3-13.4, with lists of thirty-two (blocks of 512 against 128) 29.8-31.0 against 31.7-32.4.
/// There each row's run is four times as long (4 KiB), and lists that spill from L1 wait on an L2 that answers
/// faster than the longer runs save. The lists stay within 64 KiB of stack, so the lists of sixteen take blocks of
/// 512 (measured 15.1-15.4 ms) and those of thirty-two blocks of 256 (30.1-30.6 ms).
/// </remarks>
internal static class SelectionBlocks
{
    public static int ScaleOnThisMachine { get; } = Vector512.IsHardwareAccelerated && !CpuVendor.IsIntel ? 4 : 1;
}
