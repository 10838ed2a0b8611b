using System.Runtime.Intrinsics;
using Meta.Gpu.Compute.Cpu;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The weighted median's (value, row) keys: their order must be the float order wherever two values fall in
/// different groups, and the row order within a group; -0 and +0 (equal in the reference's sort, which then orders
/// by row) must share a group; a group must hold only values that agree in sign and in the magnitude's bits above
/// the row bits (or are the least magnitudes of either sign), so that the kernel's check of a pick's group sees
/// every value the key order may have misplaced.
/// </summary>
public sealed class OrderedKeysTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(8)]
    public void Keys_with_rows_order_by_value_across_groups_and_by_row_within_one(int rowBits)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var rowMask = (1 << rowBits) - 1;
        var values = Values(rng, rowBits);
        for (var trial = 0; trial < 20000; trial++)
        {
            var x = values[rng.Next(values.Length)];
            var y = values[rng.Next(values.Length)];
            var rx = rng.Next(rowMask + 1);
            var ry = rng.Next(rowMask + 1);
            var kx = Key(x, rowMask, rx);
            var ky = Key(y, rowMask, ry);
            var what = $"seed {seed}, b={rowBits}: {x} (row {rx}, key {kx:X8}) vs {y} (row {ry}, key {ky:X8})";
            Assert.True((kx & rowMask) == rx, what);
            var sameGroup = (kx & ~rowMask) == (ky & ~rowMask);
            Assert.True(sameGroup == (Bucket(x, rowBits) == Bucket(y, rowBits)), what);
            if (x == y) Assert.True(sameGroup, what); // -0 and +0 too
            if (sameGroup) Assert.True(rx == ry ? kx == ky : (kx < ky) == (rx < ry), what);
            else Assert.True((kx < ky) == (x < y), what);
        }
    }

    /// <summary>
    /// Zeros of both signs, values a few ulps apart (one group) and just across a group boundary, of both signs,
    /// the least subnormals, and the range's ends.
    /// </summary>
    private static float[] Values(Random rng, int rowBits)
    {
        var list = new List<float> { 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, -float.MaxValue, 1f, -1f };
        for (var i = 0; i < 60; i++)
        {
            var bits = BitConverter.SingleToInt32Bits((float)(rng.NextDouble() * 8 - 4)) & ~((1 << rowBits) - 1);
            foreach (var offset in new[] { 0, 1, (1 << rowBits) - 1, 1 << rowBits, -1 })
            {
                list.Add(BitConverter.Int32BitsToSingle(bits + offset));
                list.Add(-BitConverter.Int32BitsToSingle(bits + offset));
            }
            list.Add(BitConverter.Int32BitsToSingle(rng.Next(1 << rowBits)));
            list.Add(-BitConverter.Int32BitsToSingle(rng.Next(1 << rowBits)));
        }
        return list.Where(float.IsFinite).ToArray();
    }

    /// <summary>The group a value belongs in: its sign and its magnitude's bits above the row bits (0 for both signs' least).</summary>
    private static int Bucket(float value, int rowBits)
    {
        var magnitude = (BitConverter.SingleToInt32Bits(value) & int.MaxValue) >> rowBits;
        return value < 0 ? -magnitude : magnitude;
    }

    /// <summary>Lane 0 of the vector form (every lane the same).</summary>
    /// <summary>The four-lane keys (<see cref="KeyLanes128Pair"/>, 128-bit hardware) are the eight-lane ones, lane for
    /// lane: -0 and +0 one key, NaN and infinities outside every finite value, whichever form the machine runs.</summary>
    [Fact]
    public void Four_lane_keys_are_the_eight_lane_keys()
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        float[] special = [0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, -float.MaxValue, float.PositiveInfinity,
            float.NegativeInfinity, float.NaN, -float.NaN, 1f, -1f];
        for (var trial = 0; trial < 5000; trial++)
        {
            var values = new float[8];
            for (var i = 0; i < 8; i++)
                values[i] = rng.Next(4) == 0 ? special[rng.Next(special.Length)] : BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue));
            var wide = OrderedKeys.Of(Vector256.Create(values));
            var low = OrderedKeys.Of(Vector128.Create(values.AsSpan(0, 4)));
            var high = OrderedKeys.Of(Vector128.Create(values.AsSpan(4, 4)));
            Assert.True(wide == Vector256.Create(low, high), $"seed {seed}: [{string.Join(", ", values)}]: {wide} against {low} {high}");
        }
        Assert.Equal(OrderedKeys.Of(Vector128.Create(0f)), OrderedKeys.Of(Vector128.Create(-0f)));
    }

    private static int Key(float value, int rowMask, int row) =>
        OrderedKeys.WithRow(Vector256.Create(value), Vector256.Create(int.MaxValue & ~rowMask), Vector256.Create(row)).GetElement(0);
}
