using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>An inner loop that returns no outcome: the refusal names the domain, as the refusals of an outcome
/// without an id or of a repeated id do ("the inner loop returned no outcome" said nothing of which of a round's
/// domains it was).</summary>
public sealed class MetaTrainingLoopNoOutcomeTests
{
    [Fact]
    public async Task A_null_outcome_is_refused_naming_the_domain_and_the_round_changes_nothing()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        var prior0 = loop.Prior.ToArray();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            loop.RunRoundAsync(new[] { "a", "b", "c" }, id => id == "b" ? null! : new DomainOutcome(id, 1, 0.5, 1)));

        Assert.Contains("domains[1]", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, loop.Round);
        Assert.Equal(prior0, loop.Prior.ToArray());
    }
}
