using System.Text.RegularExpressions;

namespace Meta.Gpu.Kernels;

/// <summary>
/// Gives every floating-point add, subtract and multiply of a PTX module an explicit round-to-nearest modifier, so
/// that the PTX assembler rounds each one as the float64 reference does.
/// </summary>
/// <remarks>
/// ILGPU 1.5.3 writes plain <c>mul.f64</c> / <c>add.f64</c>, and ptxas fuses such a pair into one <c>fma</c> (one
/// rounding instead of two) unless told not to: the PTX ISA lets "mul/add sequences with no rounding modifiers"
/// become fused multiply-adds and treats an operation with an explicit modifier conservatively. A fused sum of
/// q x misses the reference by the product's rounding error where terms cancel (+m and -m from two domains of one
/// weight: about 1e-3 at m = 1e13), and the Reptile step <c>p + beta (v - p)</c> and the distances' squares drift
/// the same way. ptxas 11.8 fused 1 to 13 pairs in each of nine kernels; with the modifiers it fuses none (the
/// counts of <c>DFMA</c> in the SASS equal those of <c>--fmad=false</c>). Round-to-nearest is what the plain forms
/// mean when they are not fused, so nothing else changes; <c>.rn</c> is valid on every target since sm_20.
/// </remarks>
public static partial class RoundedPtx
{
    /// <summary><paramref name="ptx"/> with <c>add</c>, <c>sub</c> and <c>mul</c> on <c>.f32</c> and <c>.f64</c>
    /// written <c>.rn</c>; instructions that already carry a modifier (<c>.rn</c>, <c>.ftz</c>, <c>.sat</c>) are
    /// left as they are.</summary>
    public static string RoundEachOperation(string ptx)
    {
        ArgumentNullException.ThrowIfNull(ptx);
        return PlainOperation().Replace(ptx, "$1.rn.$2");
    }

    /// <summary>True when no plain (fusable) floating-point add, subtract or multiply is left.</summary>
    public static bool HasNoFusableOperation(string ptx) => !PlainOperation().IsMatch(ptx);

    [GeneratedRegex(@"(?<=\s)(add|sub|mul)\.(f32|f64)(?=\s)", RegexOptions.CultureInvariant)]
    private static partial Regex PlainOperation();
}
