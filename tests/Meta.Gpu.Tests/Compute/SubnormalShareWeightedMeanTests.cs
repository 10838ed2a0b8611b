using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A mean whose light domains' shares lie below float32's range: one domain with a huge confidence (1e45) and
/// diversity balancing off leave the other 2047 a share p of 5e-46 each, and they send values near float32's
/// largest. The reference weighs them in float64 (DESIGN §4 step 6): together 2047 · 5e-46 · 3.4e38 = 3.5e-4 of
/// the mean. The cpu kernel's float32 sweep rounded every such share to 0 and wrote 0, past §13's tolerance
/// (1e-4 abs), and its error bound (a few float32 units of the terms) did not see it: a share that is no normal
/// float32 has no such relative precision.
/// </summary>
public sealed class SubnormalShareWeightedMeanTests
{
    [Theory]
    // The heavy domain first: the light shares (5e-46) round to float32 0.
    [InlineData(0, 1e45)]
    // The heavy domain last: every share decides the sum's precision, not the last row's alone.
    [InlineData(2047, 1e45)]
    // Light shares of 8.5 times float32's least subnormal (about 1.2e-44): as float32 they keep three bits, 8 or
    // 9 units, 6 % off each; together 8e-3 of the mean, 5e-4 off (past §13's 1e-4), though no share is 0.
    [InlineData(0, 0.5 / (8.5 * 1.401298464324817E-45))]
    public void Shares_below_float32s_normal_range_are_weighted_as_the_reference_weighs_them(int heavyRow, double heavyConfidence)
    {
        const int n = 2048; // whole groups of eight rows: every row goes through the float32 sweep
        const int d = 19;   // two whole vectors and a scalar tail
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            batch.Ids[r] = $"d{r:D4}";
            batch.Confidences[r] = r == heavyRow ? heavyConfidence : 0.5;
            for (var c = 0; c < d; c++) batch.Row(r)[c] = r == heavyRow ? 0f : float.MaxValue;
        }
        batch.MarkChanged();
        var config = new CrossMetaConfig(Method: AggregationMethod.Mean, OutlierFilter: false, DiversityEntropyTarget: null);
        var reference = KeyedReference.Aggregate(KeyedUpdates.From(batch), config);

        using var backend = new CpuBackend();
        var actual = new DenseCrossDomainAggregator(backend, config).Aggregate(batch).Aggregate!;

        BackendAgreementTests.AssertValues(reference, actual, $"cpu, the heavy domain (confidence {heavyConfidence:R}) at row {heavyRow}");
    }
}
