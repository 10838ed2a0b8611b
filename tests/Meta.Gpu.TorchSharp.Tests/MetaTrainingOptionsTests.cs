namespace Meta.Gpu.TorchSharp.Tests;

public sealed class MetaTrainingOptionsTests
{
    // An infinite latency was refused as "must be >= comfort_latency_ms (56), got Infinity" (or ">= 0, got
    // Infinity"): the value meets the bound the message names; what it breaks is being finite.
    [Theory]
    [InlineData(double.PositiveInfinity, 80, "comfort_latency_ms")]
    [InlineData(56, double.PositiveInfinity, "latency_target_ms")]
    [InlineData(double.NaN, 80, "comfort_latency_ms")]
    [InlineData(56, double.NaN, "latency_target_ms")]
    public void A_latency_that_is_not_finite_is_refused_by_name_as_not_finite(double comfort, double target, string named)
    {
        var options = new MetaTrainingOptions { ComfortLatencyMs = comfort, LatencyTargetMs = target };

        var e = Assert.Throws<InvalidInputException>(options.Validate);

        Assert.StartsWith(named + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains("finite", e.Message, StringComparison.Ordinal);
    }
}
