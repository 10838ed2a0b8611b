using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;
using Xunit;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The weighted median of equal weights (which backends may run as the median, <see cref="EqualWeights"/>) against
/// the cpu backend's exact path, with ties and zeros of both signs in the middle, and that weighted median against
/// the exact median. Compiled into both test projects (Meta.Gpu.Kernels.Tests links this file), so the GPU machine
/// runs it too.
/// </summary>
public static class EqualWeightRounds
{
    /// <summary>Checks <paramref name="backend"/> at <paramref name="rows"/> rows x <paramref name="columns"/> columns,
    /// weights 1/rows and then 1.</summary>
    public static void AgreeWithTheExactPath(IComputeBackend backend, int seed, int rows, int columns)
    {
        var batch = Batch(seed, rows, columns);
        var list = Enumerable.Range(0, rows).ToArray();
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var weight in new[] { 1.0 / rows, 1.0 })
        {
            var weights = Enumerable.Repeat(weight, rows).ToArray();
            var expected = new float[columns];
            var median = new float[columns];
            var actual = new float[columns];
            exact.Combine(batch, list, weights, AggregationMethod.WeightedMedian, 0.1, false, expected, default, null);
            exact.Combine(batch, list, weights, AggregationMethod.Median, 0.1, false, median, default, null);
            backend.Combine(batch, list, weights, AggregationMethod.WeightedMedian, 0.1, false, actual, default, null);
            for (var c = 0; c < columns; c++)
            {
                var context = $"seed {seed}, {backend.Name}, {rows} rows, weight {weight}, column {c}";
                Assert.True(median[c] == expected[c], $"{context}: the reference's weighted median {expected[c]} vs its median {median[c]}");
                Assert.True(expected[c] == actual[c], $"{context}: {actual[c]} vs {expected[c]}");
            }
        }
    }

    /// <summary>The batch <see cref="AgreeWithTheExactPath"/> checks for a seed: every third column from four values
    /// (middles tie), every third random, every third zeros of both signs.</summary>
    public static DomainBatch Batch(int seed, int rows, int columns)
    {
        var rng = new Random(seed);
        var batch = new DomainBatch(rows, columns);
        for (var r = 0; r < rows; r++)
        for (var c = 0; c < columns; c++)
            batch.Row(r)[c] = (c % 3) switch
            {
                0 => rng.Next(4) * 0.5f,
                1 => (float)(rng.NextDouble() * 4 - 2),
                _ => rng.Next(2) == 0 ? 0f : -0f,
            };
        batch.MarkChanged();
        return batch;
    }
}
