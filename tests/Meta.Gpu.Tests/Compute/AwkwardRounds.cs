using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;
using Xunit;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// Random whole rounds on awkward data, against the cpu backend's exact path: random configurations, sizes around
/// the kernels' edges, masks, the fused step (on a span or a resident prior), and value distributions the scenario matrices do not reach
/// (magnitudes over twenty orders, values spread ten thousand times wider than their mean, a large common offset,
/// a few values from a tiny set with both zeros, sparse non-finite cells, outliers at 1e6, rows scaled 100x,
/// subnormal values).
/// Compiled into both test projects (Meta.Gpu.Kernels.Tests links this file), so the GPU machine runs it too.
/// </summary>
public static class AwkwardRounds
{
    // Before Distributions: static fields initialise in order.
    private static readonly float[] TinySet = [-2f, -1f, -0f, 0f, 1f, 3f];
    private static readonly float[] NonFinite = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];

    private static readonly (string Name, Func<Random, int, int, float> Value)[] Distributions =
    [
        ("wide", (g, _, _) => (float)(Math.Exp(g.NextDouble() * 46 - 23) * (g.Next(2) == 0 ? -1 : 1))),
        ("spread", (g, _, _) => (float)((g.NextDouble() - 0.5) * 2e4)),
        ("offset", (g, _, _) => 1e6f + g.NextSingle()),
        ("tiny set", (g, _, _) => TinySet[g.Next(TinySet.Length)]),
        ("non-finite", (g, _, _) => g.NextDouble() < 0.01 ? NonFinite[g.Next(NonFinite.Length)] : g.NextSingle() - 0.5f),
        ("outliers", (g, _, _) => g.NextDouble() < 0.05 ? (g.Next(2) == 0 ? -1e6f : 1e6f) : g.NextSingle() - 0.5f),
        ("scaled rows", (g, r, _) => (r % 5 == 0 ? 100f : 1f) * (g.NextSingle() - 0.5f)),
        // Subnormal magnitudes (a device that flushed them to zero would order and sum them differently).
        ("subnormal", (g, _, _) => (g.NextSingle() - 0.5f) * 1e-40f),
        ("plain", (g, _, c) => (float)Math.Sin(c) + 0.3f * (g.NextSingle() - 0.5f)),
    ];

    /// <summary>The row counts drawn from unless a caller gives its own: around the kernels' group sizes (8, 16,
    /// 64) and their limits.</summary>
    public static IReadOnlyList<int> RowCounts { get; } = [1, 2, 5, 9, 13, 20, 33, 64, 65, 100];

    /// <summary>
    /// <paramref name="rounds"/> random rounds from <paramref name="seed"/> on <paramref name="backend"/> and on the
    /// cpu backend's exact path: the meta (decisions included) equal, the empty columns equal, the aggregate and the
    /// stepped prior within §13's tolerance. Failure messages carry the seed and the round.
    /// </summary>
    public static void AgreeWithTheExactPath(IComputeBackend backend, int seed, int rounds, IReadOnlyList<int> columnCounts,
        IReadOnlyList<int>? rowCounts = null)
    {
        rowCounts ??= RowCounts;
        var rng = new Random(seed);
        var fast = backend;
        using var exact = new CpuBackend { UseFastKernels = false };
        for (var round = 0; round < rounds; round++)
        {
            var (name, value) = Distributions[rng.Next(Distributions.Length)];
            var n = rowCounts[rng.Next(rowCounts.Count)];
            var d = columnCounts[rng.Next(columnCounts.Count)];
            var mask = rng.Next(4) == 0;
            var batch = new DomainBatch(n, d, mask);
            for (var r = 0; r < n; r++)
            {
                var row = batch.Row(r);
                for (var c = 0; c < d; c++) row[c] = value(rng, r, c);
                batch.Confidences[r] = rng.Next(8) == 0 ? 0.01 : 0.1 + 0.9 * rng.NextDouble();
                if (mask)
                {
                    var present = batch.MaskRow(r);
                    for (var c = 0; c < d; c++) present[c] = (byte)(rng.NextDouble() < 0.8 ? 1 : 0);
                }
            }
            batch.MarkChanged();
            var config = new CrossMetaConfig(
                Method: (AggregationMethod)rng.Next(4),
                // 0.1 the default; the others reach each list size of the trimmed mean kernels, and no trim at all.
                TrimAlpha: new[] { 0.1, 0.1, 0.0, 0.05, 0.125, 0.2, 0.25, 0.45 }[rng.Next(8)],
                Weighting: rng.Next(2) == 0 ? DomainWeighting.Uniform : DomainWeighting.Confidence,
                MissingKeys: rng.Next(2) == 0 ? MissingKeys.Ignore : MissingKeys.Zero,
                OutlierFilter: rng.Next(2) == 0,
                OutlierZ: rng.Next(3) == 0 ? 0.5 : 3.5,
                DiversityEntropyTarget: rng.Next(3) == 0 ? null : 0.9);
            var context = $"seed {seed}, round {round}, {name}, N={n}, D={d}, mask {mask}, {config.ToJson().ToJsonString()}";
            var step = rng.Next(2) == 0 ? (ReptileStep?)null : new ReptileStep(rng.Next(2) == 0 ? ReptileRule.Interpolate : ReptileRule.Delta, 0.3);
            var prior = Enumerable.Range(0, d).Select(_ => rng.Next(9) == 0 ? float.NaN : rng.NextSingle()).ToArray();
            var resident = rng.Next(2) == 0;
            context += resident ? ", resident prior" : "";
            var (expected, expectedPrior) = Run(exact, config, batch, prior, step, resident: false);
            var (actual, actualPrior) = Run(fast, config, batch, prior, step, resident);

            Assert.True(expected.Meta.ToJson().ToJsonString() == actual.Meta.ToJson().ToJsonString(),
                $"{context}: meta {actual.Meta.ToJson().ToJsonString()}, expected {expected.Meta.ToJson().ToJsonString()}");
            Assert.True(expected.EmptyColumns.SequenceEqual(actual.EmptyColumns), $"{context}: empty columns differ");
            AssertClose(expected.Aggregate!, actual.Aggregate!, context + ", aggregate");
            AssertClose(expectedPrior, actualPrior, context + ", prior");
        }
    }

    /// <summary>One round: the aggregate alone, or fused with the step on a span prior or on a
    /// <see cref="ResidentPrior"/> (which a device backend keeps on the device).</summary>
    private static (DenseAggregationResult Result, float[] Prior) Run(
        IComputeBackend backend, CrossMetaConfig config, DomainBatch batch, float[] prior, ReptileStep? step, bool resident)
    {
        var aggregator = new DenseCrossDomainAggregator(backend, config);
        var stepped = (float[])prior.Clone();
        if (step is not { } s) return (aggregator.Aggregate(batch), stepped);
        var aggregate = new float[batch.Columns];
        var result = resident
            ? aggregator.AggregateAndStep(batch, new ResidentPrior(stepped), s, aggregate)
            : aggregator.AggregateAndStep(batch, stepped, s, aggregate);
        return (result with { Aggregate = aggregate }, stepped);
    }

    private static void AssertClose(float[] expected, float[] actual, string context)
    {
        for (var c = 0; c < expected.Length; c++)
        {
            if (float.IsNaN(expected[c]) && float.IsNaN(actual[c])) continue;
            Assert.True(Math.Abs(expected[c] - actual[c]) <= 1e-4 + 1e-4 * Math.Abs(expected[c]),
                $"{context}, column {c}: {actual[c]} vs {expected[c]}");
        }
    }
}
