using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// <see cref="CrossDomainMetaAggregator.OutlierDistances"/> (public: the reference the backends' distances are checked
/// against) refuses missing arguments, a null row and a null key naming them, where it threw a
/// NullReferenceException from inside its scan.
/// </summary>
public sealed class OutlierDistancesArgumentTests
{
    private static Dictionary<string, double> Row(double a, double b) => new(StringComparer.Ordinal) { ["a"] = a, ["b"] = b };

    [Fact]
    public void Missing_arguments_are_refused_naming_them()
    {
        Assert.Equal("cells", Assert.Throws<ArgumentNullException>(() => CrossDomainMetaAggregator.OutlierDistances(null!, ["a"], false)).ParamName);
        Assert.Equal("keys", Assert.Throws<ArgumentNullException>(() => CrossDomainMetaAggregator.OutlierDistances([Row(1, 2)], null!, false)).ParamName);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_null_row_or_key_is_refused_by_its_position(bool missingAsZero)
    {
        var row = Assert.Throws<ArgumentException>(() => CrossDomainMetaAggregator.OutlierDistances([Row(1, 2), null!], ["a", "b"], missingAsZero));
        var key = Assert.Throws<ArgumentException>(() => CrossDomainMetaAggregator.OutlierDistances([Row(1, 2)], ["a", null!], missingAsZero));

        Assert.Equal("cells", row.ParamName);
        Assert.StartsWith("cells[1] is null", row.Message, StringComparison.Ordinal);
        Assert.Equal("keys", key.ParamName);
        Assert.StartsWith("keys[1] is null", key.Message, StringComparison.Ordinal);
        // Good input after: rows 1, 2, 9 on one key; median 2, distances |x - 2|.
        Assert.Equal([1.0, 0.0, 7.0], CrossDomainMetaAggregator.OutlierDistances([Row(1, 2), Row(2, 2), Row(9, 2)], ["a"], missingAsZero));
    }
}
