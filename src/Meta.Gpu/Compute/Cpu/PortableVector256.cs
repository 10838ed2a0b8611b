using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Whether the cpu kernels' Vector256 code runs at vector speed on this machine: in 256-bit hardware (AVX2,
/// AVX-512), or where the hardware has only 128-bit vectors (Arm64's AdvSimd, as on Apple silicon and Graviton; an
/// x64 CPU without AVX), as two Vector128 halves, which .NET does for every Vector256 operation it has no 256-bit
/// instruction for.
/// </summary>
/// <remarks>
/// The kernels used to ask <see cref="Vector256.IsHardwareAccelerated"/>, which is false on every Arm64 machine, and
/// took the exact path there: on the 2-core Zen 4 guest with AVX turned off (<c>DOTNET_EnableAVX=0</c>, SSE4.2 left)
/// the weighted mean took 108 ms at 64 x 1,048,576 (numpy 25 ms), the trimmed mean 860 ms and the median 811 ms;
/// through the Vector256 kernels on Vector128 halves the trimmed mean took 136 ms and the median 118 ms. A probe
/// there summed a float array as fast through Vector256 as through Vector128 (9.0 against 9.2 ms). Explicit x86
/// instructions (the weighted median's gathers, vpsignd) keep their own checks, with a portable form beside them
/// (benchmarks/HISTORY.md, "Fortieth session").
/// </remarks>
internal static class PortableVector256
{
    public static bool IsFast => Vector256.IsHardwareAccelerated || Vector128.IsHardwareAccelerated;

    /// <summary>
    /// <see cref="IsFast"/>, with a fused multiply-add in hardware: 256-bit hardware (every AVX2 CPU .NET runs has
    /// FMA3), x64's FMA3, or Arm64's AdvSimd (fmla). Without one each lane of a
    /// <see cref="Vector256.FusedMultiplyAdd(Vector256{float}, Vector256{float}, Vector256{float})"/> is a call to
    /// the math library: the weighted mean, made of them, took 137 ms through the Vector256 code on that guest
    /// without AVX against 108 ms on its exact path, so it keeps that path there.
    /// </summary>
    public static bool IsFastWithFusedMultiplyAdd =>
        Vector256.IsHardwareAccelerated || (Vector128.IsHardwareAccelerated && (Fma.IsSupported || AdvSimd.IsSupported));
}
