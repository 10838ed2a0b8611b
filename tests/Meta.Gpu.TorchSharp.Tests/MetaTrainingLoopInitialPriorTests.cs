using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>The prior a loop takes from its module when it is made is held to SetPrior's rule: every value finite.</summary>
public sealed class MetaTrainingLoopInitialPriorTests
{
    // A module holding a NaN when the loop was made (a diverged run's checkpoint loaded into it) became the prior
    // without a word, though SetPrior refuses the same values: every domain of every round adapted from it, every
    // loss was NaN and every row was left out of the step, so the prior never moved and nothing said why.
    [Fact]
    public async Task A_round_from_a_module_that_held_a_value_that_is_not_finite_is_refused_by_name_until_a_finite_prior_is_set()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using (no_grad()) model.bias![0] = float.NaN;
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        var called = 0;
        Func<string, DomainOutcome> inner = id => { called++; return new DomainOutcome(id, 1, 0.5, 1); };

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync(new[] { "a" }, inner));

        Assert.Contains("prior[2] (bias)", e.Message, StringComparison.Ordinal);
        Assert.Contains("SetPrior", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, called);
        Assert.Equal(0, loop.Round);

        loop.SetPrior(new float[] { 1, 2, 3 });
        var result = await loop.RunRoundAsync(new[] { "a" }, inner);
        Assert.Equal(1, result.Round);
        Assert.Equal(1, called);
    }
}
