using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>Rows a <see cref="ParameterVector"/> writes into a batch reach the backends that keep the batch on the
/// device across rounds: writing them marks the batch changed.</summary>
public sealed class ParameterVectorResidentBatchTests
{
    // A backend that keeps the batch resident (ilgpu-cpu here; cuda, opencl) re-uploads it only when its Version
    // changed: rows written through the vector into a reused batch were stepped from the previous round's values.
    [Fact]
    public void Rows_written_into_a_reused_batch_reach_a_backend_that_keeps_the_batch_resident()
    {
        manual_seed(1);
        using var model = nn.Linear(2, 1);
        using var vector = new ParameterVector(model);
        using var step = OuterSteps.Create("ilgpu-cpu", new CrossMetaConfig(Method: AggregationMethod.Mean, OutlierFilter: false, DiversityEntropyTarget: null));
        var batch = new DomainBatch(2, vector.Length);
        batch.Ids[0] = "a";
        batch.Ids[1] = "b";
        batch.Confidences[0] = batch.Confidences[1] = 1;

        foreach (var value in new[] { 1f, 3f })
        {
            vector.CopyFrom([value, value, value]);
            vector.CopyTo(batch, 0);
            vector.CopyTo(batch, 1);
            var prior = new float[vector.Length];

            step.Step(batch, prior, 1.0);

            Assert.Equal([value, value, value], prior);
        }
    }
}
