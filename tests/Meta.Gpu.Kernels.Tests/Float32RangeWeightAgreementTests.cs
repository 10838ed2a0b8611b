using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// Raw combine weights whose total lies inside the range the cpu backend's fast weighted sums take (1e-150 to 1e150:
/// <c>CombineJob</c>'s check) but beyond float32's: a weight past float32's largest (3.4e38), or weights each within
/// it whose group of eight is not. The float64 reference renormalises them (q = w / their sum) before it multiplies;
/// the cpu's trimmed-mean kernel sums the raw weights as float32 copies, which such weights overflow.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class Float32RangeWeightAgreementTests(IlgpuCpuFixture fixture)
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
    public void Weights_past_float32s_range_give_the_reference_combine(string backendName, string weightsName)
    {
        var backend = Backend(backendName);
        // 5 rows: the tile's selection; 19 and 40: the streamed selection's groups of eight rows.
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

                var aggregate = new float[batch.Columns];
                var stepped = (float[])prior.Clone();
                var empty = backend.Combine(batch, order, weights, method, alpha, false, aggregate, stepped, step);

                var what = $"{backendName}, {weightsName}, {rows} rows, {method}";
                Tolerance.Agree(expectedAggregate, aggregate, what);
                Assert.True(expectedEmpty == empty, $"{what}: {empty} empty columns, the reference has {expectedEmpty}");
                Tolerance.Agree(expectedPrior, stepped, what + " prior");
            }
        }
    }
}
