using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// Combine weights a backend takes ("finite and >= 0") but the engine never passes (its p sum to 1): a weight near
/// double's largest, weights whose sum is subnormal, and finite weights whose sum overflows. The float64 reference
/// renormalises them (q = w / their sum) before it multiplies; every backend must give its values, its empty
/// columns and its stepped prior, as ilgpu-cpu (whose dense kernels multiply by those q) does. The cpu's weighted
/// sums multiplied the raw weights: w x overflowed for w = 1e308 (infinity where the reference says 2) and lost
/// all but a few bits for w = 5e-324. Totals inside the range those sums take but beyond float32's (a weight past
/// 3.4e38, or weights each within it whose sum is not) overflowed the trimmed-mean kernel's float32 kept mass.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class ExtremeWeightAgreementTests(IlgpuCpuFixture fixture)
{
    public static TheoryData<string, string> BackendsAndWeights
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var backend in new[] { "cpu", "cpu-exact", "ilgpu-cpu" })
            foreach (var weights in Weights.Keys)
                data.Add(backend, weights);
            return data;
        }
    }

    private static readonly Dictionary<string, Func<int, double[]>> Weights = new()
    {
        ["one near double's largest"] = n => [1e308, .. Enumerable.Repeat(1.0, n - 1)],
        ["two near double's largest, finite sum"] = n => [8e307, .. Enumerable.Repeat(1.0, n - 2), 9e307],
        ["all the smallest subnormal"] = n => [.. Enumerable.Repeat(double.Epsilon, n)],
        ["subnormal and zero"] = n => [.. Enumerable.Range(0, n).Select(k => k % 3 == 0 ? 0.0 : 1e-320 * (k + 1))],
        ["sum overflows"] = n => [1e308, .. Enumerable.Repeat(1.0, n - 2), 1e308],
        ["one past float32's largest"] = n => [1e39, .. Enumerable.Repeat(1.0, n - 1)],
        ["each near float32's largest"] = n => [.. Enumerable.Repeat(1e38, n)],
    };

    private IComputeBackend Backend(string name)
    {
        if (name == "ilgpu-cpu")
        {
            fixture.Backend.ChunkColumns = null;
            return fixture.Backend;
        }
        return new CpuBackend { UseFastKernels = name == "cpu" };
    }

    [Theory]
    [MemberData(nameof(BackendsAndWeights))]
    public void Weights_at_the_ends_of_the_double_and_float32_ranges_give_the_reference_combine(string backendName, string weightsName)
    {
        var backend = Backend(backendName);
        // 5 rows: the four-row float64 sweeps and the tile's selection; 19 and 40: the eight-row float32 sweeps and
        // the streamed selection's groups of eight rows too.
        foreach (var rows in new[] { 5, 19, 40 })
        {
            var batch = RandomBatch.Create(new BatchShape(rows, 41, Mask: false, Ties: false), seed: rows);
            var order = Enumerable.Range(0, rows).ToArray();
            var weights = Weights[weightsName](rows);
            var prior = RandomBatch.Prior(batch.Columns, rows);
            foreach (var method in new[] { AggregationMethod.Mean, AggregationMethod.TrimmedMean, AggregationMethod.WeightedMedian })
            {
                const double alpha = 0.2;
                var step = new ReptileStep(ReptileRule.Interpolate, 0.5);
                var (expectedAggregate, expectedPrior, expectedEmpty) =
                    ColumnReference.CombineAndStep(batch, order, weights, method, alpha, false, prior, step);
                var rules = new float[batch.Columns];
                for (var d = 0; d < batch.Columns; d++)
                    rules[d] = (float)ColumnRules.Combine(method,
                        [.. order.Select(k => new ColumnCell(batch.Row(k)[d], weights[k], k))], alpha);

                var aggregate = new float[batch.Columns];
                var stepped = (float[])prior.Clone();
                var empty = backend.Combine(batch, order, weights, method, alpha, false, aggregate, stepped, step);

                var what = $"{backendName}, {weightsName}, {rows} rows, {method}";
                Tolerance.Agree(rules, aggregate, what + " vs ColumnRules");
                Tolerance.Agree(expectedAggregate, aggregate, what);
                Assert.True(expectedEmpty == empty, $"{what}: {empty} empty columns, the reference has {expectedEmpty}");
                Tolerance.Agree(expectedPrior, stepped, what + " prior");
            }
        }
    }
}
