using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// <see cref="OptimizerConfig"/>'s documented ranges of the step size: beta_init in (0, 1] and beta_max in
/// [beta_init * beta_min_factor, 1] (the docs said only "&gt; 0" and "&gt;= beta_init * beta_min_factor": a step
/// above 1 moves an interpolating prior past the aggregate, and the validation refuses it).
/// </summary>
public sealed class OptimizerConfigStepBoundsTests
{
    [Theory]
    [InlineData(1.5, 0.3, "optimizer.beta_init")]
    [InlineData(0.1, 1.5, "optimizer.beta_max")]
    public void A_step_size_above_one_is_refused_naming_the_field(double betaInit, double betaMax, string field)
    {
        var error = Assert.Throws<InvalidInputException>(() => new OptimizerConfig(BetaInit: betaInit, BetaMax: betaMax).Validated());
        Assert.StartsWith($"{field}:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_step_size_of_exactly_one_is_accepted()
    {
        var config = new OptimizerConfig(BetaInit: 1.0, BetaMax: 1.0).Validated();
        Assert.Equal(1.0, new OnlineReptileOptimizer(config).Beta);
    }
}
