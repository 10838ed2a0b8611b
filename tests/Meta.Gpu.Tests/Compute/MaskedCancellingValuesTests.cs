using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// Huge values that cancel (one domain sends +m, another -m with the same confidence, honest domains between them)
/// in a batch with a presence mask, which the cpu backend combines on its exact path. Where the terms cancel only
/// the reference's own operations in its order give its value (DESIGN §13's 1e-4 is against the float64 reference);
/// the unmasked kernels already sum such columns so (<see cref="CpuWeightedMeanKernelTests"/>), while the exact
/// path summed p x with the raw shares instead of q = p / (the column's sum of p) and missed by far more.
/// </summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class MaskedCancellingValuesTests
{
    public static TheoryData<string, AggregationMethod, double, float> Cases => new(
        from name in new[] { ComputeBackends.Cpu, ComputeBackends.IlgpuCpu }
        from c in new[] { (AggregationMethod.Mean, 0.0, 1e13f), (AggregationMethod.Mean, 0.0, 1e38f), (AggregationMethod.TrimmedMean, 0.1, 1e13f), (AggregationMethod.TrimmedMean, 0.1, 1e38f) }
        select (name, c.Item1, c.Item2, c.Item3));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Huge_values_that_cancel_in_a_masked_batch_give_the_references_value(string name, AggregationMethod method, double alpha, float m)
    {
        const int n = 12;
        const int d = 37;
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d, withMask: true);
        for (var r = 0; r < n; r++)
        {
            batch.Ids[r] = $"d{r}";
            batch.Confidences[r] = 0.2 + 0.8 * rng.NextDouble();
            batch.MaskRow(r).Fill(1);
        }
        // Each pair weighs the same, so its terms cancel in the reference. The outer pair (+-2m) is what the trimmed
        // mean drops (k = 1 of 11 present cells), so the inner pair (+-m) is kept around the honest values.
        batch.Confidences[2] = batch.Confidences[1];
        batch.Confidences[n - 1] = batch.Confidences[0];
        for (var c = 0; c < d; c++)
        {
            batch.Row(0)[c] = m;
            batch.Row(1)[c] = 2 * m;
            batch.Row(2)[c] = -2 * m;
            batch.Row(n - 1)[c] = -m;
            for (var r = 3; r < n - 1; r++) batch.Row(r)[c] = (float)(rng.NextDouble() * 2 - 1);
            // One honest cell absent per column, so no column is all present.
            batch.MaskRow(3 + c % (n - 4))[c] = 0;
        }
        batch.MarkChanged();
        var config = new CrossMetaConfig(Method: method, TrimAlpha: alpha, OutlierFilter: false, DiversityEntropyTarget: null);
        var reference = KeyedReference.Aggregate(KeyedUpdates.From(batch), config);

        using var backend = ComputeBackends.Create(name);
        var actual = new DenseCrossDomainAggregator(backend, config).Aggregate(batch).Aggregate!;

        BackendAgreementTests.AssertValues(reference, actual, $"seed {seed}, {name}, {method}, m={m}");
    }
}
