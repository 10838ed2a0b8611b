using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
        Assert.SkipUnless(Avx2.IsSupported, "the keys with rows take AVX2");
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
    private static int Key(float value, int rowMask, int row) =>
        OrderedKeys.WithRow(Vector256.Create(value), Vector256.Create(int.MaxValue & ~rowMask), Vector256.Create(row)).GetElement(0);
}
