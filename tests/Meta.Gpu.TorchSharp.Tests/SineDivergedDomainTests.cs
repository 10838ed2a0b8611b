using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>A sine domain whose inner loop diverged (its loss overflowed to infinity, the parameters blown up but
/// still finite) takes no part in the outer step, as one whose loss came out NaN does.</summary>
public sealed class SineDivergedDomainTests
{
    // The confidence was clamped to [0.1, 1] before the non-finite check: 1 - inf / before = -inf became the floor,
    // 0.1, while a NaN loss gave 0. The blown-up parameters (~1e19) then went into the step with weight 0.1, and
    // the meta-learned prior of a diverging run scored NaN on the held-out tasks where random init scored inf.
    [Fact]
    public void A_domain_whose_loss_overflowed_to_infinity_has_no_confidence()
    {
        using var model = new SineRegressor(42, 1000);
        var (x, y) = new SineTask(5, 0).SampleShots(new Random(1), 10);

        var outcome = SineDemo.AdaptToTask(model, "d", x, y, 5);

        Assert.Equal(double.PositiveInfinity, outcome.LossAfter);
        Assert.Equal(0, outcome.Confidence);
    }

    [Fact]
    public async Task A_round_whose_domains_all_diverged_leaves_the_prior_at_the_init()
    {
        var options = new SineDemoOptions { MetaRounds = 1, Domains = 3, InnerLearningRate = 1000, HeldOutTasks = 1, EvaluationPoints = 10 };
        using var init = new SineRegressor(options.Seed, options.InnerLearningRate);
        using var initVector = new ParameterVector(init.Module);
        var initPrior = new float[initVector.Length];
        initVector.CopyTo(initPrior);
        MetaRoundResult? round = null;
        using var step = OuterSteps.Create("cpu");

        var result = await SineDemo.RunAsync(options, step, progress: p => round ??= p.Round);

        Assert.Equal(double.PositiveInfinity, round!.LossAfter);
        Assert.Equal(0, round.Step.Participants);
        Assert.Equal(initPrior, result.Prior);
    }
}
