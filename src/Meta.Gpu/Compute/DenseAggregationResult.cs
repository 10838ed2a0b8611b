using System.Text.Json.Nodes;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute;

/// <summary>
/// What one dense aggregation did (DESIGN §4 step 7, dense form): the aggregate (null when the fused path did
/// not write it), the columns flagged empty (no present cell among the kept rows: NaN in the aggregate, the
/// prior's value unchanged), and the meta fields with the keyed aggregator's names.
/// </summary>
/// <param name="Aggregate">The D aggregate values, or null when the fused path did not write them.</param>
/// <param name="Columns">D.</param>
/// <param name="EmptyColumns">Columns with no present cell among the kept rows.</param>
/// <param name="Meta">The meta of DESIGN §4 step 7, the keyed aggregator's record.</param>
/// <param name="Backend">The backend that ran the round.</param>
public sealed record DenseAggregationResult(
    float[]? Aggregate,
    int Columns,
    IReadOnlyList<int> EmptyColumns,
    AggregationMeta Meta,
    string Backend)
{
    /// <summary>The meta fields (snake_case, as the keyed aggregator writes them) plus <c>empty_columns</c> (how
    /// many) and <c>backend</c>.</summary>
    public JsonObject MetaJson()
    {
        var json = Meta.ToJson();
        json["empty_columns"] = EmptyColumns.Count;
        json["backend"] = Backend;
        return json;
    }
}
