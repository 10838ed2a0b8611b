using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// When a fast kernel's float32 sums may be kept: DESIGN §13 lets a backend compute in float32 only where it agrees
/// with the float64 reference within 1e-4 abs + 1e-4 rel. A float32 partial of weighted terms errs by a few units
/// in the last place of the terms' magnitude, not of the result: where the terms cancel (values spread far wider
/// than their mean, such as domains that disagree in sign at magnitude 1e4) that error exceeds the tolerance. The
/// kernels bound it per column from what they already know (the kept values' half-spread, or the weighted sum of
/// |x|) and redo the columns whose bound reaches half the tolerance in float64.
/// </summary>
internal static class SumPrecision
{
    /// <summary>The unit roundoff of float32, 2^-24.</summary>
    public const double Float32Unit = 1.0 / (1 << 24);

    /// <summary>The unit roundoff of float64, 2^-53.</summary>
    public const double Float64Unit = 1.0 / (1L << 53);

    /// <summary>Headroom over the worst-case error counts below (the bounds' own rounding, the reference's
    /// float64 rounding, and the float32 rounding of the written aggregate).</summary>
    private const double Margin = 1.25;

    /// <summary>
    /// Per lane, whether an error of at most <paramref name="bound"/> keeps <paramref name="result"/> within half of
    /// §13's tolerance around it (so within the whole tolerance around the reference's value). False for NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Holds(Vector256<double> result, Vector256<double> bound) =>
        Vector256.LessThanOrEqual(bound, Vector256.Create(0.5e-4) + Vector256.Create(0.5e-4) * Vector256.Abs(result));

    /// <inheritdoc cref="Holds(Vector256{double}, Vector256{double})"/>
    public static bool Holds(double result, double bound) => bound <= 0.5e-4 + 0.5e-4 * Math.Abs(result);

    /// <summary>The lanes of eight columns (bit i for column i; lanes 0-3 in the low halves, 4-7 in the high ones)
    /// where <see cref="Holds(Vector256{double}, Vector256{double})"/> holds.</summary>
    public static uint HoldingLanes(Vector256<double> resultLo, Vector256<double> resultHi, Vector256<double> boundLo, Vector256<double> boundHi) =>
        Holds(resultLo, boundLo).ExtractMostSignificantBits() | (Holds(resultHi, boundHi).ExtractMostSignificantBits() << 4);

    /// <summary>
    /// The error factor of a centred float32 weighted mean over <paramref name="rows"/> rows: its error is at most
    /// this times the largest |x - c| of a kept cell. Each term x - c is rounded once, multiplied by a float32
    /// weight (itself rounded once) and summed in float32 over a group of eight rows (at most four roundings; up to
    /// eight in a chain over the last, incomplete group), each group's partial is added in float64; the float32
    /// sum of the weights adds up to rows/8 + 10 roundings relative to itself, which moves sum/weight by at most
    /// that many roundings of the largest |x - c|. Dropped cells add exact zeros.
    /// </summary>
    public static double CentredFloat32(int rows) => Margin * Float32Unit * (24 + rows / 8.0);

    /// <summary>
    /// The error factor of a float64 weighted sum over <paramref name="rows"/> rows in any order against the
    /// reference's own float64 sum: both err by at most rows roundings of the sum of |w x| over the weights.
    /// </summary>
    public static double Float64(int rows) => Margin * Float64Unit * (2.0 * rows + 8);

    /// <summary>
    /// The error factor of <see cref="WeightedSumKernel"/>'s float32 partials (normalised weights rounded to float32,
    /// two FMA chains of four, their sum): at most this times the sum of w |x| over the normalised weights (one more
    /// rounding than those steps count, for the bound's own).
    /// </summary>
    public const double WeightedFloat32 = Margin * Float32Unit * 8;
}
