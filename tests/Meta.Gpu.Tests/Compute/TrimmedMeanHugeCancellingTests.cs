using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// DESIGN §4 step 6 and §13: the trimmed mean is sum q x / sum q over the kept cells, within 1e-4 abs + 1e-4 rel of
/// the float64 reference. Where two kept cells of one weight are +m and -m with m = 1e13 or more, the reference's
/// q x terms cancel exactly, and only the reference's own arithmetic gives its value: the streamed kernel's float64
/// second chance (fused multiply-adds of the raw weights, for the lanes whose float32 sums miss the tolerance, and
/// for lanes tied at a threshold) keeps a product's rounding error, about 1e3 at m = 1e20, so such a lane must
/// fail its precision check and take the exact path.
/// </summary>
public sealed class TrimmedMeanHugeCancellingTests
{
    [Theory]
    [InlineData(false, 1e13f)] // no tie: thresholds -m and +m, the 2m cells trimmed
    [InlineData(false, 1e20f)]
    [InlineData(true, 1e13f)]  // three +m and three -m: ties across both trim boundaries
    [InlineData(true, 1e20f)]
    public void Huge_kept_values_that_cancel_give_the_references_trimmed_mean(bool tied, float m)
    {
        // Twenty rows, trim_alpha 0.1: k = 2 from each end, the streamed kernel (lists of eight).
        const int n = 20, d = 37;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d);
        float[] huge = tied ? [m, -m, m, -m, m, -m] : [m, -m, 2 * m, 2 * m, -2 * m, -2 * m];
        for (var c = 0; c < d; c++)
        {
            for (var r = 0; r < huge.Length; r++) batch.Row(r)[c] = huge[r];
            for (var r = huge.Length; r < n; r++) batch.Row(r)[c] = (float)(rng.NextDouble() * 2 - 1);
        }
        for (var r = 0; r < n; r++) batch.Confidences[r] = 0.2 + 0.8 * rng.NextDouble();
        // The huge cells weigh the same, so the kept +m and -m cancel in the reference.
        for (var r = 1; r < huge.Length; r++) batch.Confidences[r] = batch.Confidences[0];
        batch.MarkChanged();
        var config = new CrossMetaConfig(Method: AggregationMethod.TrimmedMean, TrimAlpha: 0.1, OutlierFilter: false, DiversityEntropyTarget: null);
        KeyedUpdates.AssertDenseAgreesWithReference(batch, config, $"seed {seed}, tied={tied}, m={m}");
    }
}
