using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The round is over the domains the list held when it began. An inner loop that took its domain off the list (a
/// work queue of pending tasks) ended the round early: the rows of the domains not run (zeros, or the previous
/// round's rows and confidences in the reused batch) went into the step, the prior moved and the round was counted,
/// and then the round threw a NullReferenceException on the missing outcomes, its result and reports lost.
/// </summary>
public sealed class MetaTrainingLoopDomainListTests
{
    [Fact]
    public async Task A_domain_list_that_shrinks_during_the_round_fails_the_round_without_moving_the_prior()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        using var probe = new ParameterVector(model);
        var prior0 = loop.Prior.ToArray();
        var pending = new List<string> { "a", "b" };

        var e = await Record.ExceptionAsync(() => loop.RunRoundAsync(pending, id =>
        {
            probe.CopyFrom(new float[] { 9, 9, 9 });
            pending.Remove(id);
            return new DomainOutcome(id, 1, 0.5, 1);
        }));

        Assert.Equal(0, loop.Round);
        Assert.Equal(prior0, loop.Prior.ToArray());
        var current = new float[probe.Length];
        probe.CopyTo(current);
        Assert.Equal(prior0, current);
        // Refused as the indexer refuses an index past the end (the domain the round was to run next is gone).
        Assert.IsType<ArgumentOutOfRangeException>(e);
    }
}
