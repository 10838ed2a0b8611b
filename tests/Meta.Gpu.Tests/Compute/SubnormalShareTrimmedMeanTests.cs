using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A trimmed mean whose kept cells all weigh less than float32's smallest normal number: one domain with a huge
/// confidence (1e44) and diversity balancing off leave every other domain a share p near 1e-44, and the heavy
/// domain's cells are trimmed off. The reference weighs the kept cells by those shares in float64 (DESIGN §4
/// step 6); a float32 copy of them keeps only a few bits (1e-44 and 1.5e-44 are 7 and 11 steps of float.Epsilon),
/// which moved the kept cells' weighted mean far past §13's tolerance.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class SubnormalShareTrimmedMeanTests
{
    [Theory]
    [InlineData(ComputeBackends.Cpu, 4, 0.25)]   // the cpu's tiled kernel (k = 1)
    [InlineData(ComputeBackends.Cpu, 20, 0.1)]   // the cpu's streamed kernel (k = 2)
    [InlineData(ComputeBackends.IlgpuCpu, 4, 0.25)]
    [InlineData(ComputeBackends.IlgpuCpu, 20, 0.1)]
    public void Kept_cells_with_shares_below_float32s_normal_range_are_weighted_as_the_reference_weighs_them(string name, int n, double alpha)
    {
        const int d = 19; // two whole vectors and a scalar tail
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            batch.Ids[r] = $"d{r}";
            // Row 0 weighs 1e44 and holds the largest value of every column (trimmed off); the others weigh 1 or 1.5.
            batch.Confidences[r] = r == 0 ? 1e44 : r % 2 == 0 ? 1.5 : 1.0;
            for (var c = 0; c < d; c++) batch.Row(r)[c] = r == 0 ? 1000f : (r * 7 + c * 3) % 11;
        }
        batch.MarkChanged();
        var config = new CrossMetaConfig(Method: AggregationMethod.TrimmedMean, TrimAlpha: alpha, OutlierFilter: false, DiversityEntropyTarget: null);
        var reference = KeyedReference.Aggregate(KeyedUpdates.From(batch), config);

        using var backend = ComputeBackends.Create(name);
        var actual = new DenseCrossDomainAggregator(backend, config).Aggregate(batch).Aggregate!;

        BackendAgreementTests.AssertValues(reference, actual, $"{name}, n={n}, alpha={alpha}");
    }
}
