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
}
