using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// Turns a <see cref="DomainBatch"/> into keyed updates: column c becomes key "c0000123" (ordinal order equals
/// column order) and a masked-out cell is a key the domain did not send.
/// </summary>
public static class KeyedUpdates
{
    public static string KeyOf(int column) => $"c{column:D7}";

    public static List<DomainUpdateInput> From(DomainBatch batch)
    {
        var result = new List<DomainUpdateInput>(batch.Rows);
        for (var r = 0; r < batch.Rows; r++)
        {
            var keys = new List<string>();
            var values = new List<float>();
            var row = batch.Row(r);
            for (var c = 0; c < batch.Columns; c++)
            {
                if (!batch.IsPresent(r, c)) continue;
                keys.Add(KeyOf(c));
                values.Add(row[c]);
            }
            result.Add(new DomainUpdateInput(batch.Ids[r], keys.ToArray(), values.ToArray(), batch.Confidences[r]));
        }
        return result;
    }

    /// <summary>
    /// Aggregates <paramref name="batch"/> with <paramref name="config"/> on the cpu backend's dense path and asserts
    /// every column within §13's tolerance (1e-4 abs + 1e-4 rel) of the float64 keyed reference;
    /// <paramref name="context"/> (the seed and the case) begins each failure message.
    /// </summary>
    public static void AssertDenseAgreesWithReference(DomainBatch batch, CrossMetaConfig config, string context)
    {
        var reference = CrossDomainMetaAggregator.Aggregate(From(batch), config);
        using var backend = new CpuBackend();
        var actual = new DenseCrossDomainAggregator(backend, config).Aggregate(batch).Aggregate!;
        for (var c = 0; c < batch.Columns; c++)
        {
            var expected = reference.Vector[reference.Keys.ToList().IndexOf(KeyOf(c))];
            Assert.True(Math.Abs(actual[c] - expected) <= 1e-4 + 1e-4 * Math.Abs(expected),
                $"{context}, column {c}: {actual[c]:R}, reference {expected:R}");
        }
    }
}
