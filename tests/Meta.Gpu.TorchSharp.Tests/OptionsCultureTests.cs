using Meta.Gpu.Tests.Support;
using Meta.Gpu.TorchSharp.Sine;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The training loop's and the sine demo's refusals show a number as the invariant culture writes it: the loop runs
/// inside the user's own training program, under its culture, where "got 1,5" (de-DE) or "got −1" (U+2212, sv-SE
/// or fa-IR) named a value in a form the user did not write and no JSON reader takes. The tests run in
/// globalization-invariant mode, so the culture is the invariant one with de-DE's and sv-SE's symbols
/// (<see cref="ForeignCulture"/>).
/// </summary>
public sealed class OptionsCultureTests
{
    [Theory]
    [InlineData("beta", "beta: must be in (0, 1], got 1.5")]
    [InlineData("comfort_latency_ms", "comfort_latency_ms: must be finite and >= 0, got -0.5")]
    [InlineData("latency_target_ms", "latency_target_ms: must be finite and >= comfort_latency_ms (56.5), got 40.25")]
    public void A_training_option_range_error_shows_the_number_invariantly(string field, string expected)
    {
        var options = field switch
        {
            "beta" => new MetaTrainingOptions { Beta = 1.5 },
            "comfort_latency_ms" => new MetaTrainingOptions { ComfortLatencyMs = -0.5 },
            _ => new MetaTrainingOptions { ComfortLatencyMs = 56.5, LatencyTargetMs = 40.25 },
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(options.Validate));
    }

    [Theory]
    [InlineData("meta_rounds", "meta_rounds: must be >= 1, got -1")]
    [InlineData("inner_steps", "inner_steps: must be >= 1, got -1")]
    [InlineData("inner_learning_rate", "inner_learning_rate: must be > 0, got -0.5")]
    [InlineData("joint_learning_rate", "joint_learning_rate: must be > 0, got -0.001")]
    public void A_sine_demo_option_range_error_shows_the_number_invariantly(string field, string expected)
    {
        var options = field switch
        {
            "meta_rounds" => new SineDemoOptions { MetaRounds = -1 },
            "inner_steps" => new SineDemoOptions { InnerSteps = -1 },
            "inner_learning_rate" => new SineDemoOptions { InnerLearningRate = -0.5 },
            _ => new SineDemoOptions { JointLearningRate = -0.001 },
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(options.Validate));
    }

    [Fact]
    public async Task A_step_size_out_of_range_is_shown_invariantly()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep()) { StepSize = () => 1.5 };

        var message = await ForeignCulture.MessageOfAsync(() => loop.RunRoundAsync(new[] { "a" }, id => new DomainOutcome(id, 1, 0.5, 1)));

        Assert.Equal("the outer step size must be in (0, 1], the source gave 1.5", message);
    }
}
