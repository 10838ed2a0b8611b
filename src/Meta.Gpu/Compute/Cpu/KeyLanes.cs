using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// One vector width of order-preserving int keys (<see cref="OrderedKeys"/>) for the streamed trimmed mean's
/// selection pass: a key vector covers <see cref="Count"/> consecutive columns, and its eight-lane parts feed the
/// Vector256 code that follows (thresholds, pass 2, writes). The kernel and <see cref="IExtremeLists"/> are written
/// once over this interface; the JIT compiles each width as if it had been written out.
/// </summary>
internal interface IKeyLanes<TKeys> where TKeys : unmanaged
{
    /// <summary>Columns (int lanes) per key vector.</summary>
    static abstract int Count { get; }

    static abstract TKeys Min(TKeys a, TKeys b);

    static abstract TKeys Max(TKeys a, TKeys b);

    /// <summary>A pad above every key (lists not yet full).</summary>
    static abstract TKeys PadAbove { get; }

    /// <summary>A pad below every key.</summary>
    static abstract TKeys PadBelow { get; }

    /// <summary>The keys of the <see cref="Count"/> floats at <paramref name="origin"/> + <paramref name="offset"/>.</summary>
    static abstract TKeys Load(ref float origin, nuint offset);

    /// <summary>Lanes 8 <paramref name="part"/> .. 8 <paramref name="part"/> + 7 of <paramref name="keys"/>.</summary>
    static abstract Vector256<int> Part(TKeys keys, int part);

    /// <summary>The floats whose keys are lanes 8 <paramref name="part"/> .. 8 <paramref name="part"/> + 7.</summary>
    static abstract Vector256<float> ValuePart(TKeys keys, int part);
}

/// <summary>Eight columns per key vector (AVX2).</summary>
internal struct KeyLanes256 : IKeyLanes<Vector256<int>>
{
    public static int Count => Vector256<int>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Min(Vector256<int> a, Vector256<int> b) => Vector256.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Max(Vector256<int> a, Vector256<int> b) => Vector256.Max(a, b);

    public static Vector256<int> PadAbove => Vector256.Create(int.MaxValue);

    public static Vector256<int> PadBelow => Vector256.Create(int.MinValue);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load(ref float origin, nuint offset) => OrderedKeys.Of(Vector256.LoadUnsafe(ref origin, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Part(Vector256<int> keys, int part) => keys;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ValuePart(Vector256<int> keys, int part) => OrderedKeys.ValueOf(keys);
}

/// <summary>Sixteen columns per key vector (AVX-512): twice the comparators per instruction of
/// <see cref="KeyLanes256"/> where the hardware runs 512-bit min/max at the 256-bit rate.</summary>
internal struct KeyLanes512 : IKeyLanes<Vector512<int>>
{
    public static int Count => Vector512<int>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Min(Vector512<int> a, Vector512<int> b) => Vector512.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Max(Vector512<int> a, Vector512<int> b) => Vector512.Max(a, b);

    public static Vector512<int> PadAbove => Vector512.Create(int.MaxValue);

    public static Vector512<int> PadBelow => Vector512.Create(int.MinValue);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Load(ref float origin, nuint offset) => OrderedKeys.Of(Vector512.LoadUnsafe(ref origin, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Part(Vector512<int> keys, int part) => part == 0 ? keys.GetLower() : keys.GetUpper();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ValuePart(Vector512<int> keys, int part) => Part(OrderedKeys.ValueOf(keys).AsInt32(), part).AsSingle();
}

/// <summary>Sixteen columns per vector, the floats themselves as keys (AVX-512): no key conversion, and on the Xeon
/// measured 512-bit vminps/vmaxps issue about 1.5 times as fast as 512-bit vpminsd/vpmaxsd.</summary>
/// <remarks>The native min/max (vminps/vmaxps; IEEE's minimum and maximum cost more instructions) return their
/// second operand when the operands compare equal or either is NaN, so a
/// network may turn {-0, +0} into two equal zeros of one sign (the same values: the threshold check compares
/// values, and their int keys are equal) and may lose or copy a NaN; a NaN or infinite cell still makes pass 2's sum
/// NaN (it adds (x - c) * 0), so such a column takes the exact path as with int keys.</remarks>
internal struct FloatKeyLanes512 : IKeyLanes<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

    public static Vector512<float> PadAbove => Vector512.Create(float.PositiveInfinity);

    public static Vector512<float> PadBelow => Vector512.Create(float.NegativeInfinity);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float origin, nuint offset) => Vector512.LoadUnsafe(ref origin, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Part(Vector512<float> keys, int part) => OrderedKeys.Of(ValuePart(keys, part));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ValuePart(Vector512<float> keys, int part) => part == 0 ? keys.GetLower() : keys.GetUpper();
}

/// <summary>Eight keys as two Vector128 halves (<see cref="KeyLanes128Pair"/>).</summary>
internal readonly struct KeyPair128(Vector128<int> lower, Vector128<int> upper)
{
    public readonly Vector128<int> Lower = lower;

    public readonly Vector128<int> Upper = upper;
}

/// <summary>Eight columns per key as two Vector128 halves, where the hardware's vectors are 128-bit (Arm64's AdvSimd,
/// x64 without AVX2): each comparator is two 128-bit min/max instructions. <see cref="KeyLanes256"/> gives the same
/// keys there, but .NET runs its Vector256 as halves in code large enough that the JIT stopped inlining the
/// selection pass's min/max (a call per comparator, seen in its code with AVX turned off).</summary>
internal struct KeyLanes128Pair : IKeyLanes<KeyPair128>
{
    public static int Count => 2 * Vector128<int>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static KeyPair128 Min(KeyPair128 a, KeyPair128 b) => new(Vector128.Min(a.Lower, b.Lower), Vector128.Min(a.Upper, b.Upper));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static KeyPair128 Max(KeyPair128 a, KeyPair128 b) => new(Vector128.Max(a.Lower, b.Lower), Vector128.Max(a.Upper, b.Upper));

    public static KeyPair128 PadAbove => new(Vector128.Create(int.MaxValue), Vector128.Create(int.MaxValue));

    public static KeyPair128 PadBelow => new(Vector128.Create(int.MinValue), Vector128.Create(int.MinValue));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static KeyPair128 Load(ref float origin, nuint offset) =>
        new(OrderedKeys.Of(Vector128.LoadUnsafe(ref origin, offset)), OrderedKeys.Of(Vector128.LoadUnsafe(ref origin, offset + 4)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Part(KeyPair128 keys, int part) => Vector256.Create(keys.Lower, keys.Upper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ValuePart(KeyPair128 keys, int part) => OrderedKeys.ValueOf(Part(keys, part));
}
