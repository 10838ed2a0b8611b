using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The cpu backend's fast kernels against its exact path (the reference's arithmetic, DESIGN §4 step 6) on values and
/// weights chosen to slip past their guards: cells near ±float.MaxValue (differences from the thresholds' midpoint
/// overflow float32), subnormal cells, -0/+0 ties at the trim boundaries, kept values of ±1e7 that cancel, one huge
/// value kept at a small trim_alpha, weights from 1e-30 to 1e30 and from 1e-45 to 1, and row counts of 1-9 and
/// 14-300 over column counts that are not whole vectors. The medians must pick the same cells (the same floats), the
/// means stay within §13's tolerance, with and without the fused Reptile step.
/// </summary>
public sealed class CpuFastKernelAdversarialValuesTests
{
    public enum Values { NearFloatMax, Subnormal, SignedZeroTies, Cancelling, OneHugeOutlier, WideExponents }

    public static TheoryData<Values, AggregationMethod> Cases => new(
        from v in Enum.GetValues<Values>()
        from m in new[] { AggregationMethod.Mean, AggregationMethod.TrimmedMean, AggregationMethod.Median, AggregationMethod.WeightedMedian }
        select (v, m));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fast_kernels_agree_with_the_exact_path(Values values, AggregationMethod method)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var exact = new CpuBackend(maxDegreeOfParallelism: 1) { UseFastKernels = false };
        CpuBackend[] fast =
        [
            new CpuBackend(maxDegreeOfParallelism: 1),
            new CpuBackend(maxDegreeOfParallelism: 1) { SelectionLanes = Selection.Vector512Ints.Lanes(), SelectionBlockScale = 4 },
            new CpuBackend(maxDegreeOfParallelism: 1) { SelectionLanes = Selection.Vector512Floats.Lanes() },
        ];
        try
        {
            for (var round = 0; round < 24; round++)
            {
                var n = round % 3 == 0 ? rng.Next(1, 10) : round % 3 == 1 ? rng.Next(14, 100) : rng.Next(100, 300);
                var d = 16 * rng.Next(1, 4) + rng.Next(16);
                var batch = new DomainBatch(n, d);
                for (var r = 0; r < n; r++)
                for (var c = 0; c < d; c++)
                    batch.Row(r)[c] = Value(rng, values, n);
                batch.MarkChanged();
                var rows = Enumerable.Range(0, n).ToArray();
                var weights = Weights(rng, round % 4, n);
                var alpha = new[] { 0.01, 0.1, 0.25, 0.45 }[rng.Next(4)];
                ReptileStep? step = round % 2 == 0 ? null : new ReptileStep(rng.Next(2) == 0 ? ReptileRule.Interpolate : ReptileRule.Delta, 0.3);
                var expected = step is null ? new float[d] : Enumerable.Range(0, d).Select(c => c % 7 == 0 ? float.NaN : (float)Math.Sin(c)).ToArray();
                var backend = fast[round % fast.Length];
                var actual = (float[])expected.Clone();
                if (step is null)
                {
                    exact.Combine(batch, rows, weights, method, alpha, false, expected, default, null);
                    backend.Combine(batch, rows, weights, method, alpha, false, actual, default, null);
                }
                else
                {
                    exact.Combine(batch, rows, weights, method, alpha, false, default, expected, step);
                    backend.Combine(batch, rows, weights, method, alpha, false, default, actual, step);
                }
                var samePick = step is null && method is AggregationMethod.Median or AggregationMethod.WeightedMedian;
                for (var c = 0; c < d; c++)
                {
                    double e = expected[c], a = actual[c];
                    var ok = double.IsNaN(e) || double.IsNaN(a) ? double.IsNaN(e) && double.IsNaN(a)
                        : samePick || double.IsInfinity(e) ? e == a
                        : Math.Abs(e - a) <= 1e-4 + 1e-4 * Math.Abs(e);
                    Assert.True(ok, $"seed {seed}, round {round}, {values}, {method}, n={n}, d={d}, alpha={alpha}, {step}, column {c}: {a:R}, exact path {e:R}");
                }
            }
        }
        finally
        {
            foreach (var b in fast) b.Dispose();
        }
    }

    private static float Value(Random rng, Values values, int n) => values switch
    {
        Values.NearFloatMax => rng.Next(4) switch
        {
            0 => float.MaxValue,
            1 => -float.MaxValue,
            2 => (rng.Next(2) == 0 ? -1 : 1) * float.MaxValue * (0.5f + 0.5f * rng.NextSingle()),
            _ => rng.NextSingle() - 0.5f,
        },
        Values.Subnormal => rng.Next(3) == 0 ? float.Epsilon * rng.Next(-4, 5) : (rng.NextSingle() - 0.5f) * 1e-40f,
        Values.SignedZeroTies => rng.Next(5) switch { 0 => -0f, 1 => 0f, 2 => 1f, 3 => -1f, _ => 0.5f },
        Values.Cancelling => (rng.Next(2) == 0 ? -1e7f : 1e7f) + (rng.NextSingle() - 0.5f),
        Values.OneHugeOutlier => rng.Next(n) == 0 ? 3e38f : rng.NextSingle(),
        _ => (rng.NextSingle() - 0.5f) * MathF.Pow(10, rng.Next(-40, 39)),
    };

    private static double[] Weights(Random rng, int kind, int n)
    {
        var weights = new double[n];
        for (var i = 0; i < n; i++)
        {
            weights[i] = kind switch
            {
                0 => 1.0, // equal: weighted median picks on S/2
                1 => Math.Pow(10, rng.Next(-30, 31)),
                2 => Math.Pow(10, rng.Next(-45, 1)),
                _ => 0.05 + rng.NextDouble(),
            };
        }
        return weights;
    }
}
