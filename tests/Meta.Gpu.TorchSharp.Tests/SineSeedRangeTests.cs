using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The demo's streams come from its seed: the model init from the seed, the training tasks from seed + 1, the
/// held-out tasks from seed + 2 (README). <see cref="Random(int)"/> seeds with the absolute value, so near
/// <see cref="int.MaxValue"/>, where seed + 1 and seed + 2 wrap around to int.MinValue and -int.MaxValue, both are
/// <c>Random(int.MaxValue)</c>'s sequence: the "held-out" tasks were the training tasks, and the table compared
/// the starting points on tasks the prior was meta-trained on. Such a seed is refused, naming it.
/// </summary>
public sealed class SineSeedRangeTests
{
    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(int.MaxValue - 1)]
    public async Task A_seed_whose_held_out_stream_would_repeat_the_training_stream_is_refused_by_name(int seed)
    {
        var options = new SineDemoOptions { Seed = seed, MetaRounds = 1, Domains = 1, HeldOutTasks = 1, EvaluationPoints = 10 };
        double trainingLoss = double.NaN;

        SineDemoResult? result = null;
        var refused = await Record.ExceptionAsync(async () => result = await SineDemo.RunAsync(options, new WeightedMeanReptileStep(),
            progress: p => { if (p.Phase == "meta-training") trainingLoss = p.Round!.LossBefore; }));
        if (result is not null)
        {
            // It ran: the first held-out task's shots, scored by the random init (round 0's prior), give exactly
            // the loss the first training task had before adaptation when the two streams are one.
            using var init = new SineRegressor(seed, options.InnerLearningRate);
            var heldOutLoss = init.Loss(result.Example.ShotsX, result.Example.ShotsY);
            Assert.Fail($"seed {seed} ran, and its first held-out task scored {heldOutLoss} from the init, its first training task {trainingLoss}");
        }
        var e = Assert.IsType<InvalidInputException>(refused);
        Assert.StartsWith("seed:", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(int.MaxValue - 3)]
    [InlineData(-5)]
    [InlineData(int.MinValue)]
    public async Task Any_other_seed_runs_and_evaluates_on_tasks_other_than_the_training_tasks(int seed)
    {
        var options = new SineDemoOptions { Seed = seed, MetaRounds = 1, Domains = 1, HeldOutTasks = 1, EvaluationPoints = 10 };
        double trainingLoss = double.NaN;

        var result = await SineDemo.RunAsync(options, new WeightedMeanReptileStep(),
            progress: p => { if (p.Phase == "meta-training") trainingLoss = p.Round!.LossBefore; });

        using var init = new SineRegressor(seed, options.InnerLearningRate);
        Assert.NotEqual(trainingLoss, init.Loss(result.Example.ShotsX, result.Example.ShotsY));
    }
}
