using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A backend's refusal of a weight or a row shows the number as the invariant culture writes it, whatever the
/// culture of the application that embeds the library: a weight of -0.5 was "got −0,5" under sv-SE (a decimal comma
/// and the minus U+2212), a row of -1 "got −1 after −1".
/// </summary>
public sealed class CombineInputCultureTests
{
    [Theory]
    [InlineData("weight", "weights must be finite and >= 0, got -0.5")]
    [InlineData("row", "rows must be ascending, distinct and in [0, 2); got -1 after -1")]
    public void A_refused_weight_or_row_is_shown_invariantly(string what, string expected)
    {
        using var cpu = new CpuBackend();
        var batch = new DomainBatch(2, 3);
        int[] rows = what == "row" ? [-1, 0] : [0, 1];
        double[] weights = what == "row" ? [0.5, 0.5] : [-0.5, 0.5];
        var aggregate = new float[3];

        var message = ForeignCulture.MessageOf(() => cpu.Combine(batch, rows, weights, AggregationMethod.Mean, 0.1, false, aggregate, default, null));

        Assert.StartsWith(expected, message, StringComparison.Ordinal);
    }
}
