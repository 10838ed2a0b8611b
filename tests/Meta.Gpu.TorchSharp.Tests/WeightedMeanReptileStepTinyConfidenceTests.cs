using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// Confidences far below 1 (a min_confidence of 1e-310 lets them in): the weights are w_i / sum w (DESIGN §4 step
/// 4), so only their ratios count. The host step multiplied the raw confidence into each value, and
/// confidence * value fell below float64's range: the row's value was lost, and the sum of squared weights went to
/// 0 and gave a NaN effective domain count.
/// </summary>
public sealed class WeightedMeanReptileStepTinyConfidenceTests
{
    private static DomainBatch Batch(float[] values, double[] confidences)
    {
        var batch = new DomainBatch(values.Length, 1);
        for (var r = 0; r < values.Length; r++)
        {
            batch.Row(r)[0] = values[r];
            batch.Confidences[r] = confidences[r];
            batch.Ids[r] = $"d{r}";
        }
        batch.MarkChanged();
        return batch;
    }

    [Theory]
    [InlineData(1e-38f, 1e-300)]
    [InlineData(1e-20f, 1e-300)]
    [InlineData(-3e-30f, 1e-290)]
    public void A_lone_row_of_tiny_confidence_moves_the_prior_to_its_value_as_the_engine_does(float value, double confidence)
    {
        using var host = new WeightedMeanReptileStep(minConfidence: 1e-310);
        using var engine = new EngineOuterStep(ComputeBackends.Create("cpu"),
            new CrossMetaConfig(Method: AggregationMethod.Mean, MinConfidence: 1e-310, OutlierFilter: false, DiversityEntropyTarget: null));
        var hostPrior = new[] { 0f };
        var enginePrior = new[] { 0f };

        host.Step(Batch([value], [confidence]), hostPrior, 1.0);
        engine.Step(Batch([value], [confidence]), enginePrior, 1.0);

        Assert.Equal(BitConverter.SingleToInt32Bits(value), BitConverter.SingleToInt32Bits(enginePrior[0]));
        Assert.Equal(BitConverter.SingleToInt32Bits(value), BitConverter.SingleToInt32Bits(hostPrior[0]));
    }

    [Theory]
    [InlineData(1e-200)]
    [InlineData(5e-324)]
    public void Equal_tiny_confidences_count_as_that_many_effective_domains(double confidence)
    {
        using var host = new WeightedMeanReptileStep(minConfidence: double.Epsilon);
        var prior = new[] { 0f };

        var result = host.Step(Batch([2f, 4f, 6f], [confidence, confidence, confidence]), prior, 1.0);

        Assert.Equal(3, result.Participants);
        Assert.Equal(3.0, result.EffectiveDomains, 12);
        Assert.Equal(confidence, result.ConfidenceMean, confidence * 1e-12);
        Assert.Equal(4f, prior[0]);
    }
}
