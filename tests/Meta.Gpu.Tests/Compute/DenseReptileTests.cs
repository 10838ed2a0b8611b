using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The host Reptile step on a dense prior (<see cref="DenseReptile.Apply"/>, behind
/// <see cref="DenseReptileOptimizer.Apply"/>): every value as <see cref="DenseReptile.StepValue"/> steps it, bit for bit,
/// in the vector body and in the tail, with NaN priors (a column the prior lacks), NaN aggregate values (a column
/// no domain sent) and infinities among finite values; a long prior, stepped in shares on several threads, too.
/// </summary>
public sealed class DenseReptileTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(1000)]
    [InlineData(1003)]
    // Long enough to be cut into shares stepped on several threads (DenseReptile.ParallelShare values at least
    // each), and not a whole number of vectors: every share's edge and the last share's tail.
    [InlineData(2 * DenseReptile.ParallelShare + 13)]
    [InlineData(5 * DenseReptile.ParallelShare + 1)]
    public void Every_value_is_stepped_as_the_scalar_step_steps_it(int length)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        foreach (var rule in new[] { ReptileRule.Interpolate, ReptileRule.Delta })
        {
            var step = new ReptileStep(rule, 0.05 + 0.9 * rng.NextDouble());
            var prior = Values(rng, length);
            var aggregate = Values(rng, length);
            var expected = new float[length];
            for (var i = 0; i < length; i++) expected[i] = DenseReptile.StepValue(prior[i], aggregate[i], step);

            DenseReptile.Apply(prior, aggregate, step);

            for (var i = 0; i < length; i++)
            {
                var same = float.IsNaN(expected[i])
                    ? float.IsNaN(prior[i])
                    : BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(prior[i]);
                Assert.True(same, $"seed {seed}, {rule}, beta {step.Beta}, value {i} of {length}: expected {expected[i]:R}, got {prior[i]:R}");
            }
        }
    }

    [Theory]
    [InlineData(2 * DenseReptile.ParallelShare + 13)]
    [InlineData(5 * DenseReptile.ParallelShare + 1)]
    public void A_long_prior_inside_a_larger_array_is_stepped_to_its_last_value_and_no_further(int length)
    {
        // The prior and the aggregate are spans in the middle of larger arrays (as a caller's slice of a buffer is):
        // the shares stepped on the thread pool cover exactly the span. A last share cut as long as the others ran
        // past its end, stepping the values after the span (on a whole array, memory after it).
        const int pad = 21;
        var step = new ReptileStep(ReptileRule.Interpolate, 0.5);
        var prior = new float[pad + length + pad];
        var aggregate = new float[pad + length + pad];
        prior.AsSpan().Fill(1f);
        aggregate.AsSpan().Fill(3f);

        DenseReptile.Apply(prior.AsSpan(pad, length), aggregate.AsSpan(pad, length), step);

        for (var i = 0; i < prior.Length; i++)
        {
            var expected = i >= pad && i < pad + length ? 2f : 1f;
            Assert.True(prior[i] == expected, $"value {i - pad} of {length} (the span starts at {pad}): expected {expected}, got {prior[i]}");
        }
    }

    [Fact]
    public void An_aggregate_of_another_length_is_refused_and_nothing_changes()
    {
        float[] prior = [1f, 2f, 3f];

        var e = Assert.Throws<ArgumentException>(() => DenseReptile.Apply(prior, [4f, 5f], new ReptileStep(ReptileRule.Interpolate, 0.5)));

        Assert.Equal("aggregate", e.ParamName);
        Assert.Equal([1f, 2f, 3f], prior);
    }

    /// <summary>Mostly values of ordinary size, with NaN, infinities, zeros of both signs, values near float's
    /// largest (a step that overflows) and subnormals mixed in.</summary>
    private static float[] Values(Random rng, int length)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = rng.Next(20) switch
            {
                0 => float.NaN,
                1 => rng.Next(2) == 0 ? float.PositiveInfinity : float.NegativeInfinity,
                2 => rng.Next(2) == 0 ? 0f : -0f,
                3 => (rng.Next(2) == 0 ? 1 : -1) * float.MaxValue * (float)(0.5 + 0.5 * rng.NextDouble()),
                4 => (float)(rng.NextDouble() * 1e-40),
                _ => (float)(rng.NextDouble() * 200 - 100),
            };
        }
        return values;
    }
}
