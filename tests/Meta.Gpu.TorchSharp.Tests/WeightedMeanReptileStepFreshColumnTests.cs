using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// A NaN prior value is a column the prior does not hold yet (a fresh dense prior): the interpolate step adopts
/// the aggregate there (DESIGN §8 (d): a key the prior lacks adopts v; <see cref="DenseReptile.StepValue"/>), as the
/// engine's step does. The host step, the reference the engine is checked against, computed NaN + beta * (mean -
/// NaN) and left the NaN in place for ever.
/// </summary>
public sealed class WeightedMeanReptileStepFreshColumnTests
{
    [Fact]
    public void A_NaN_prior_value_adopts_the_weighted_mean_as_the_engine_step_does()
    {
        var batch = new DomainBatch(2, 2);
        batch.Row(0)[0] = 1f; batch.Row(0)[1] = 10f;
        batch.Row(1)[0] = 4f; batch.Row(1)[1] = 20f;
        batch.Confidences[0] = 0.5; batch.Confidences[1] = 1.0;
        batch.Ids[0] = "a"; batch.Ids[1] = "b";
        batch.MarkChanged();
        using var host = new WeightedMeanReptileStep();
        using var engine = new EngineOuterStep(ComputeBackends.Create("cpu"),
            new CrossMetaConfig(Method: AggregationMethod.Mean, OutlierFilter: false, DiversityEntropyTarget: null));
        float[] hostPrior = [float.NaN, 2f];
        float[] enginePrior = [float.NaN, 2f];

        host.Step(batch, hostPrior, 0.25);
        engine.Step(batch, enginePrior, 0.25);

        Assert.Equal(3f, enginePrior[0]);
        Assert.Equal(3f, hostPrior[0]);
        Assert.Equal(enginePrior[1], hostPrior[1]);
    }
}
