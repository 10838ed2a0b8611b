using Meta.Gpu.Learning;
using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

public sealed class SineDemoTests
{
    private static readonly SineDemoOptions Short = new()
    {
        MetaRounds = 80,
        Domains = 8,
        InnerLearningRate = 0.05,
        HeldOutTasks = 25,
        EvaluationPoints = 50,
    };

    [Fact]
    public async Task A_short_meta_training_run_beats_random_init_on_held_out_tasks()
    {
        using var engine = OuterSteps.Create("cpu");
        var result = await SineDemo.RunAsync(Short, engine, new MetaTrainingOptions { Beta = 0.3 });

        Assert.True(result.Mse.Meta < 0.8 * result.Mse.Random,
            $"meta-learned {result.Mse.Meta:F3} vs random init {result.Mse.Random:F3}");
        Assert.Equal(0.3, result.FinalBeta);
        Assert.Equal("cpu", result.Backend);
        Assert.Equal(Short.EvaluationPoints, result.Example.GridX.Length);
        Assert.Equal(Short.Shots, result.Example.ShotsX.Length);
        Assert.All([result.Example.Meta, result.Example.Random, result.Example.Joint], p => Assert.Equal(Short.EvaluationPoints, p.Length));
    }

    [Fact]
    public async Task A_seeded_run_repeats_exactly_and_follows_the_optimizers_beta()
    {
        var options = Short with { MetaRounds = 6, Domains = 3, HeldOutTasks = 3 };
        // The optimizer grows beta only while the outer step is comfortably fast, by the wall clock. With the
        // defaults (56 ms), a first round that also compiles the step on a loaded machine could miss that and send
        // one run down another path; a generous budget keeps the test about determinism, not the machine's load.
        var unhurried = new MetaTrainingOptions { ComfortLatencyMs = 60_000, LatencyTargetMs = 120_000 };
        var rounds = new List<MetaRoundResult>();
        OnlineReptileOptimizer? optimizer = null;
        var first = await SineDemo.RunAsync(options, new WeightedMeanReptileStep(), unhurried,
            configure: loop => loop.FollowOptimizer(optimizer = new OnlineReptileOptimizer()),
            progress: p => { if (p.Phase == "meta-training" && p.Round is { } r) rounds.Add(r); });
        var second = await SineDemo.RunAsync(options, new WeightedMeanReptileStep(), unhurried,
            configure: loop => loop.FollowOptimizer(new OnlineReptileOptimizer()));

        Assert.Equal(first.Mse, second.Mse);
        Assert.Equal(first.Example.Meta, second.Example.Meta);
        // Each round used the beta the optimizer had after the previous round: 0.1 first, then x1.1 per
        // comfortable round (every round, within that budget), capped at 0.3.
        Assert.Equal(6, rounds.Count);
        Assert.Equal(0.1, rounds[0].Beta, 12);
        for (var i = 1; i < rounds.Count; i++)
            Assert.Equal(Math.Min(0.3, rounds[i - 1].Beta * 1.1), rounds[i].Beta, 12);
        Assert.Equal(optimizer!.Beta, Math.Min(0.3, rounds[^1].Beta * 1.1), 12);
    }

    [Fact]
    public async Task Bad_options_are_refused_before_anything_runs()
    {
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => SineDemo.RunAsync(Short with { Domains = 0 }, new WeightedMeanReptileStep()));
        Assert.Contains("domains", e.Message, StringComparison.Ordinal);
    }
}
