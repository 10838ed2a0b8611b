using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// DESIGN §12 <c>non_finite</c> on dense vectors (§10: the lane validates every dense update): the rule is checked
/// several values at a time, so a NaN or an infinity must be found in every position, in the whole vectors and in
/// the tail past them, and the extreme finite values must pass there too.
/// </summary>
public sealed class ValidatorDenseNonFiniteTests
{
    private static readonly MetaPacketValidator Validator = new();

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(1_000_003)]
    public void A_non_finite_value_in_any_position_of_a_dense_vector_is_refused(int d)
    {
        var positions = d <= 33 ? Enumerable.Range(0, d) : [0, 5, 8, 15, d / 2, d - 9, d - 4, d - 1];
        foreach (var position in positions)
        {
            foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.Int32BitsToSingle(-1) })
            {
                var vector = new float[d];
                vector.AsSpan().Fill(0.5f);
                vector[position] = bad;
                var broken = Validator.ValidateParts(0.5, null, vector, 0.0);
                Assert.True(broken is [MetaPacketValidator.NonFinite], $"D {d}: {bad} at {position}: [{string.Join(", ", broken)}]");
            }
        }
    }

    [Theory]
    [InlineData(9)]
    [InlineData(1_000_003)]
    public void The_extreme_finite_values_of_a_dense_vector_pass(int d)
    {
        float[] extremes = [float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, -0f, 1.17549421E-38f, 3e38f];
        var vector = new float[d];
        for (var i = 0; i < d; i++) vector[i] = extremes[i % extremes.Length];
        Assert.Empty(Validator.ValidateParts(0.5, null, vector, 0.0));
    }
}
