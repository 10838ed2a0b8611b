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

    /// <summary>Every lane <paramref name="key"/>.</summary>
    static abstract TKeys Create(int key);

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Create(int key) => Vector256.Create(key);

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Create(int key) => Vector512.Create(key);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Load(ref float origin, nuint offset) => OrderedKeys.Of(Vector512.LoadUnsafe(ref origin, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Part(Vector512<int> keys, int part) => part == 0 ? keys.GetLower() : keys.GetUpper();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ValuePart(Vector512<int> keys, int part) => Part(OrderedKeys.ValueOf(keys).AsInt32(), part).AsSingle();
}
