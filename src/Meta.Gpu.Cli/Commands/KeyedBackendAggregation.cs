using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Cli.Commands;

/// <summary>
/// Keyed updates through a compute backend (DESIGN §4 dense form): the updates become a <see cref="DomainBatch"/>
/// whose columns are the ordinal key union of every update, a key a domain did not send is a masked-out cell, and
/// <see cref="DenseCrossDomainAggregator"/> combines them. The result has the keyed reference's shape.
/// </summary>
/// <remarks>
/// Columns that come out NaN (no kept domain sent the key) are dropped, so the keys equal the keyed reference's:
/// the union of the keys the kept domains sent. Malformed updates are refused before anything runs, as the
/// reference does. When no update has any key there is no column to build a batch from: every update is then
/// <c>rejected_empty</c> and the result is the reference's empty result, without touching the backend.
/// </remarks>
internal static class KeyedBackendAggregation
{
    public static AggregationResult Aggregate(IReadOnlyList<DomainUpdateInput> updates, CrossMetaConfig config, IComputeBackend backend)
    {
        config.Validated();
        for (var i = 0; i < updates.Count; i++)
        {
            if (updates[i] is null) throw new InvalidInputException($"updates[{i}]: null update");
            updates[i].EnsureWellFormed();
        }

        var keys = updates.SelectMany(u => u.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (keys.Length == 0)
            return new AggregationResult([], [], AggregationMeta.Empty(config, 0, 0, updates.Count));

        var column = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
        for (var c = 0; c < keys.Length; c++) column[keys[c]] = c;

        var batch = new DomainBatch(updates.Count, keys.Length, withMask: true);
        for (var r = 0; r < updates.Count; r++)
        {
            var update = updates[r];
            var values = batch.Row(r);
            var mask = batch.MaskRow(r);
            for (var k = 0; k < update.Keys.Count; k++)
            {
                var c = column[update.Keys[k]];
                values[c] = update.Vector[k];
                mask[c] = 1;
            }
            batch.Confidences[r] = update.Confidence;
            batch.Ids[r] = update.DomainId;
        }
        batch.MarkChanged();

        var result = new DenseCrossDomainAggregator(backend, config).Aggregate(batch);
        var aggregate = result.Aggregate!;
        var outKeys = new List<string>(keys.Length);
        var outValues = new List<float>(keys.Length);
        for (var c = 0; c < keys.Length; c++)
        {
            if (float.IsNaN(aggregate[c])) continue;
            outKeys.Add(keys[c]);
            outValues.Add(aggregate[c]);
        }
        return new AggregationResult(outValues.ToArray(), outKeys, result.Meta);
    }
}
