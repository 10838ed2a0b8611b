using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// What a dense lane's round must give, made by hand: the round's updates in a fresh <see cref="DomainBatch"/> (in
/// the order given, which the lane's is too: domain id order), aggregated and stepped onto a prior of the test's own;
/// and the check that the lane's prior is that prior, bit for bit.
/// </summary>
internal static class DenseRoundByHand
{
    /// <summary>Aggregates <paramref name="updates"/> (each domain's values and confidence) in a fresh batch of
    /// <paramref name="columns"/> and steps <paramref name="prior"/> with the round's reward 0.5 and no DRG flags.</summary>
    public static DenseAggregationResult Run(DenseCrossDomainAggregator aggregator, DenseReptileOptimizer prior, int columns,
        IEnumerable<(string Domain, float[] Values, double Confidence)> updates)
    {
        var list = updates.ToList();
        var batch = new DomainBatch(list.Count, columns);
        for (var r = 0; r < list.Count; r++)
        {
            list[r].Values.CopyTo(batch.Row(r));
            batch.Confidences[r] = list[r].Confidence;
            batch.Ids[r] = list[r].Domain;
        }
        return aggregator.AggregateInto(batch, prior, 0.5, default);
    }

    /// <summary>Fails naming <paramref name="when"/> and the first column where <paramref name="actual"/> is not
    /// <paramref name="expected"/> bit for bit.</summary>
    public static void AssertSamePrior(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string when)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var c = 0; c < expected.Length; c++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[c]) == BitConverter.SingleToInt32Bits(actual[c]),
                $"{when}, column {c}: expected {expected[c]:R}, got {actual[c]:R}");
        }
    }
}
