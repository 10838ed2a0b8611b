using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// DESIGN §8 (d) and §13: the fused Reptile step of the weighted mean's kernel steps each prior value as the reference
/// step does (<see cref="DenseReptile.StepValue"/>: prior + beta * v in float64, no fused multiply-add, rounded to
/// float32). Near float.MaxValue the float64 sum's last bit decides whether the rounded value is float.MaxValue or
/// infinity, so a fused multiply-add, which rounds once where the reference rounds twice, lands on the other side:
/// the prior became float.MaxValue where the reference's step makes it infinite.
/// </summary>
public sealed class WeightedMeanFusedStepOverflowTests
{
    [Fact]
    public void A_delta_step_that_leaves_the_float_range_rounds_as_the_reference_step()
    {
        // Two rows holding the same values: the mean is that value exactly, so only the step's arithmetic differs.
        const int d = 16; // two whole vectors of the kernel's finish
        const float value = 2.0613079829535942e+31f;
        var step = new ReptileStep(ReptileRule.Delta, 0.4919791155325223);
        var batch = new DomainBatch(2, d);
        for (var r = 0; r < 2; r++)
        {
            batch.Ids[r] = $"d{r}";
            batch.Confidences[r] = 0.5;
            batch.Row(r).Fill(value);
        }
        batch.MarkChanged();
        var config = new CrossMetaConfig(Method: AggregationMethod.Mean, OutlierFilter: false, DiversityEntropyTarget: null);
        var expected = DenseReptile.StepValue(float.MaxValue, value, step);

        using var backend = new CpuBackend();
        var prior = Enumerable.Repeat(float.MaxValue, d).ToArray();
        new DenseCrossDomainAggregator(backend, config).AggregateAndStep(batch, prior, step);

        for (var c = 0; c < d; c++)
            Assert.True(prior[c].Equals(expected), $"column {c}: {prior[c]:R}, the reference step gives {expected:R}");
    }
}
