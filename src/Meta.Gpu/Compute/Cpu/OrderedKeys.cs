using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Order-preserving int keys for float lanes, so the selection kernels sort with int min/max, which issues about
/// twice as fast as float min/max on the AVX2 machines measured.
/// </summary>
internal static class OrderedKeys
{
    /// <summary>
    /// The float's key: its magnitude bits, negated for a negative float (vpsignd takes the sign from the float's
    /// own bits, two instructions per vector), so -0 and +0 both map to 0, signed int order is float order and NaN
    /// sorts outside every finite value. Without AVX2 (Arm64, whose kernels run these vectors as two halves) the
    /// negation is written out (four instructions) and gives the same keys: flipping the magnitude bits instead, as
    /// the Vector512 form does, put -0 below +0, and the median of a column of signed zeros came out -0 where the
    /// reference, which keeps equal values in row order, gives +0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Of(Vector256<float> value)
    {
        var bits = value.AsInt32();
        return Signed(bits & Vector256.Create(int.MaxValue), bits);
    }

    /// <summary><see cref="Of(Vector256{float})"/> over four lanes, the negation written out (for
    /// <see cref="KeyLanes128Pair"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Of(Vector128<float> value)
    {
        var bits = value.AsInt32();
        var negative = bits >> 31;
        return ((bits & Vector128.Create(int.MaxValue)) ^ negative) - negative;
    }

    /// <summary>
    /// <see cref="Of(Vector256{float})"/> over sixteen lanes. AVX-512 has no vpsignd, so the magnitude bits of a
    /// negative float are flipped (three instructions): signed int order is float order, NaN sorts outside every
    /// finite value, and -0 sorts just below +0 (the trimmed mean's threshold check compares values, where they are
    /// equal, so a -0/+0 pair across a threshold still takes the exact path).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Of(Vector512<float> value)
    {
        var bits = value.AsInt32();
        return bits ^ ((bits >> 31) & Vector512.Create(int.MaxValue));
    }

    /// <summary>
    /// The float's key with its low bits replaced by <paramref name="row"/>: <see cref="Of(Vector256{float})"/>'s key with the
    /// magnitude cut to <paramref name="magnitudeMask"/> (int.MaxValue with the row bits clear) BEFORE the sign is
    /// applied, so a negative key is the negation of a multiple of the row range, its low bits clear as well, and
    /// the row ORs in as it does for a positive key (three instructions). Keys order by value across groups
    /// (floats whose signs and cut magnitudes agree share their high bits: a group) and by row within one; -0 and
    /// +0 both give the row alone, in the group of the least magnitudes of either sign. Without AVX2 the negation is
    /// written out, as in <see cref="Of(Vector256{float})"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> WithRow(Vector256<float> value, Vector256<int> magnitudeMask, Vector256<int> row)
    {
        var bits = value.AsInt32();
        return Signed(bits & magnitudeMask, bits) | row;
    }

    /// <summary><paramref name="magnitude"/>, negated in the lanes where <paramref name="bits"/> (a float's) is
    /// negative: vpsignd with AVX2, the two's complement negation written out elsewhere (the same keys).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Signed(Vector256<int> magnitude, Vector256<int> bits)
    {
        if (Avx2.IsSupported) return Avx2.Sign(magnitude, bits);
        var negative = bits >> 31;
        return (magnitude ^ negative) - negative;
    }

    /// <summary>
    /// Whether a lane of keys lies outside [<paramref name="finiteLow"/>, <paramref name="finiteHigh"/>] (the keys of
    /// -float.MaxValue and float.MaxValue in the caller's key form): the keys of infinities and NaN do, those of
    /// finite floats do not. <paramref name="lowest"/> and <paramref name="highest"/> are lane-wise bounds of the
    /// keys checked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AnyNonFinite(Vector256<int> lowest, Vector256<int> highest, Vector256<int> finiteLow, Vector256<int> finiteHigh) =>
        (Vector256.LessThan(lowest, finiteLow) | Vector256.GreaterThan(highest, finiteHigh)) != Vector256<int>.Zero;

    /// <summary>The float whose key is <paramref name="key"/> (+0 for the key of either zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ValueOf(Vector256<int> key) => (Vector256.Abs(key) | (key & Vector256.Create(int.MinValue))).AsSingle();

    /// <summary>The float whose key is <paramref name="key"/> (<see cref="Of(Vector512{float})"/>'s inverse).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ValueOf(Vector512<int> key) => (key ^ ((key >> 31) & Vector512.Create(int.MaxValue))).AsSingle();
}
