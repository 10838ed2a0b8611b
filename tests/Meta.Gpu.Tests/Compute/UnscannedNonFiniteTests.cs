using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A combine over rows nobody scanned (<see cref="CpuBackend.CombineUnscanned"/>) must notice every non-finite cell
/// it reads, or the round would aggregate a row the scan rejects. The kernels check cheaply (the ends of sorted
/// groups, the rows of a partial group apart), so each row position is tried in turn: rows in whole groups of eight,
/// in the partial group and alone, in a vector lane and in the scalar tail, for every method and selection lane.
/// </summary>
public sealed class UnscannedNonFiniteTests
{
    public static TheoryData<AggregationMethod, Selection> Methods => new()
    {
        { AggregationMethod.Mean, Selection.Vector256 },
        { AggregationMethod.TrimmedMean, Selection.Vector256 },
        { AggregationMethod.TrimmedMean, Selection.Vector512Ints },
        { AggregationMethod.TrimmedMean, Selection.Vector512Floats },
        { AggregationMethod.Median, Selection.Vector256 },
        { AggregationMethod.WeightedMedian, Selection.Vector256 },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_non_finite_cell_in_any_row_position_is_noticed(AggregationMethod method, Selection selection)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var cpu = new CpuBackend { SelectionLanes = selection.Lanes() };
        const int d = 35; // two vectors of sixteen and a scalar tail of three
        foreach (var n in new[] { 5, 13, 64 })
        {
            var batch = BatchScenario.Plain.Make(rng.Next(), n, d);
            var rows = Enumerable.Range(0, n).ToArray();
            var weights = rows.Select(_ => 0.2 + rng.NextDouble()).ToArray();
            var total = weights.Sum();
            for (var i = 0; i < n; i++) weights[i] /= total;
            var aggregate = new float[d];
            Assert.Equal(0, cpu.CombineUnscanned(batch, rows, weights, method, 0.1, aggregate, default, null));
            foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                for (var row = 0; row < n; row++)
                {
                    var column = rng.Next(4) == 0 ? d - 1 - rng.Next(3) : rng.Next(d - 3);
                    var kept = batch.Row(row)[column];
                    batch.Row(row)[column] = bad;
                    batch.MarkChanged();
                    var result = cpu.CombineUnscanned(batch, rows, weights, method, 0.1, aggregate, default, null);
                    batch.Row(row)[column] = kept;
                    batch.MarkChanged();
                    Assert.True(result is null,
                        $"seed {seed}, {method} ({selection}), N={n}: {bad} in row {row}, column {column} went unnoticed");
                }
            }
        }
    }
}
