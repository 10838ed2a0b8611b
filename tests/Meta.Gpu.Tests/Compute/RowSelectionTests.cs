using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A backend primitive's <c>rows</c> are ascending, distinct row indices of the batch (<see cref="DomainBatch"/>): a
/// repeated row (a domain counted twice), a descending list or a row past the last is refused as an argument error
/// naming <c>rows</c>, by every primitive, before anything is written.
/// </summary>
public sealed class RowSelectionTests
{
    public static TheoryData<int[], string> BadSelections => new()
    {
        { [0, 1, 1], "got 1 after 1" },
        { [2, 0], "got 0 after 2" },
        { [0, 3], "got 3 after 0" },
    };

    [Theory]
    [MemberData(nameof(BadSelections))]
    public void A_repeated_descending_or_past_the_end_row_is_refused_by_every_primitive(int[] rows, string got)
    {
        const int d = 4;
        var batch = new DomainBatch(3, d);
        for (var r = 0; r < 3; r++) batch.Row(r).Fill(r + 1f);
        batch.MarkChanged();
        var weights = Enumerable.Repeat(1.0 / rows.Length, rows.Length).ToArray();
        var medians = new double[d];
        var distances = new double[rows.Length];
        var aggregate = Enumerable.Repeat(7f, d).ToArray();
        var prior = Enumerable.Repeat(3f, d).ToArray();
        var step = new ReptileStep(ReptileRule.Interpolate, 0.5);
        using var cpu = new CpuBackend();
        IComputeBackend backend = cpu;

        var calls = new Dictionary<string, Action>
        {
            ["ScanRows"] = () => backend.ScanRows(batch, rows, new RowScan[rows.Length]),
            ["ColumnMedians"] = () => cpu.ColumnMedians(batch, rows, false, medians),
            ["RowDistances"] = () => cpu.RowDistances(batch, rows, false, medians, distances),
            ["MediansAndDistances"] = () => cpu.MediansAndDistances(batch, rows, false, medians, distances),
            ["Combine"] = () => cpu.Combine(batch, rows, weights, AggregationMethod.Median, 0.1, false, aggregate, prior, step),
            ["CombineUnscanned"] = () => cpu.CombineUnscanned(batch, rows, weights, AggregationMethod.Mean, 0.1, aggregate, prior, step),
            ["ReferenceOrderDistances"] = () => ReferenceOrderDistances.Compute(batch, rows, false, medians, distances),
        };
        foreach (var (primitive, call) in calls)
        {
            var error = Assert.ThrowsAny<ArgumentException>(call);
            Assert.True(error.ParamName == "rows", $"{primitive}: parameter {error.ParamName}");
            Assert.Contains($"rows must be ascending, distinct and in [0, 3); {got}", error.Message, StringComparison.Ordinal);
        }
        Assert.All(aggregate, v => Assert.Equal(7f, v));
        Assert.All(prior, v => Assert.Equal(3f, v));
    }

    [Fact]
    public void A_negative_row_count_is_refused_naming_rows()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new DomainBatch(-1, 4));
        Assert.Equal("rows", error.ParamName);
        Assert.Equal(-1, error.ActualValue);
    }
}
