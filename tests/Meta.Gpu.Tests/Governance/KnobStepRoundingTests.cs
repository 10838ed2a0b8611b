using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §5 (D8): "new = round(clamp(old +- step, lo, hi), 10 decimals)", as the reference's round(x, 10): a value
/// exactly half way between two grid points (an odd multiple of 2^-11 is one) goes to the even one, and the rounding
/// comes after the clamp, so a bound off the grid is rounded too.
/// </summary>
public sealed class KnobStepRoundingTests
{
    [Theory]
    // 0.5 - 0.00146484375 is exactly 0.49853515625, half way between 0.4985351562 and 0.4985351563.
    [InlineData(0.00146484375, 0.4, 0.4985351562)]
    // 0.5 - 0.05 = 0.45 is clamped to the lower bound 0.49853515625, which is then rounded the same way.
    [InlineData(0.05, 0.49853515625, 0.4985351562)]
    public void A_step_half_way_between_two_grid_points_rounds_to_the_even_one_after_the_clamp(double step, double lo, double expected)
    {
        var config = new IntegrativeMetaConfig
        {
            EvaluatorPolicy = new EvaluatorPolicyConfig { LambdaCiStep = step, LambdaCiBounds = new KnobBounds(lo, 0.6) },
        };
        using var layer = new MetaIntegrativeLayer(config);

        var result = layer.Update(GovernanceTestData.Calm with { CiWidth = 0.3 });

        Assert.Equal(expected, result.Knobs.LambdaCi);
        Assert.Equal(expected, result.PolicyUpdate.ValueOf(Knob.LambdaCi));
    }
}
