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

    // README: the outer step size is in (0, 1]; the latencies are finite, comfort >= 0 and the target at least the
    // comfort latency. The bounds themselves are settings a user may give.
    [Theory]
    [InlineData(1.0, 0.0, 0.0)]
    [InlineData(1e-9, 56.0, 56.0)]
    public void Each_bound_itself_is_a_valid_setting(double beta, double comfort, double target)
    {
        new MetaTrainingOptions { Beta = beta, ComfortLatencyMs = comfort, LatencyTargetMs = target }.Validate();
    }

    [Theory]
    [InlineData(0.0, 56, 80, "beta")]
    [InlineData(-0.1, 56, 80, "beta")]
    [InlineData(double.NaN, 56, 80, "beta")]
    [InlineData(1.0000001, 56, 80, "beta")]
    [InlineData(0.1, -1e-9, 80, "comfort_latency_ms")]
    [InlineData(0.1, 56, 55.999, "latency_target_ms")]
    public void A_value_just_past_a_bound_is_refused_by_name(double beta, double comfort, double target, string named)
    {
        var options = new MetaTrainingOptions { Beta = beta, ComfortLatencyMs = comfort, LatencyTargetMs = target };

        var e = Assert.Throws<InvalidInputException>(options.Validate);

        Assert.StartsWith(named + ":", e.Message, StringComparison.Ordinal);
    }
}
