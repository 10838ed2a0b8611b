using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>The sine demo's settings at their bounds: the smallest run that still means something is valid, and one
/// step past a bound is refused naming the setting before anything runs.</summary>
public sealed class SineDemoOptionsTests
{
    [Fact]
    public void The_smallest_valid_settings_are_taken()
    {
        new SineDemoOptions
        {
            Seed = SineDemoOptions.MaxSeed, MetaRounds = 1, Domains = 1, Shots = 1, InnerSteps = 1, HeldOutTasks = 1,
            EvaluationPoints = 2, InnerLearningRate = 1e-9, JointLearningRate = 1e-9,
        }.Validate();
    }

    [Theory]
    [InlineData("meta_rounds")]
    [InlineData("domains")]
    [InlineData("shots")]
    [InlineData("inner_steps")]
    [InlineData("held_out_tasks")]
    [InlineData("evaluation_points")]
    [InlineData("inner_learning_rate")]
    [InlineData("joint_learning_rate")]
    [InlineData("inner_learning_rate", double.PositiveInfinity)]
    [InlineData("joint_learning_rate", double.PositiveInfinity)]
    [InlineData("inner_learning_rate", double.NaN)]
    [InlineData("joint_learning_rate", double.NaN)]
    public void One_step_past_a_bound_is_refused_by_name(string named, double rate = 0)
    {
        var options = named switch
        {
            "meta_rounds" => new SineDemoOptions { MetaRounds = 0 },
            "domains" => new SineDemoOptions { Domains = 0 },
            "shots" => new SineDemoOptions { Shots = 0 },
            "inner_steps" => new SineDemoOptions { InnerSteps = 0 },
            "held_out_tasks" => new SineDemoOptions { HeldOutTasks = 0 },
            "evaluation_points" => new SineDemoOptions { EvaluationPoints = 1 },
            "inner_learning_rate" => new SineDemoOptions { InnerLearningRate = rate },
            _ => new SineDemoOptions { JointLearningRate = rate },
        };

        var e = Assert.Throws<InvalidInputException>(options.Validate);

        Assert.StartsWith(named + ":", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(65_536, 65_536)]          // 2^32: wrapped to a length of 0
    [InlineData(100_000, 30_000)]         // wrapped to a negative length
    [InlineData(46_341, 46_341)]          // just past int's range
    public void Domains_times_shots_past_one_arrays_length_is_refused_by_name(int domains, int shots)
    {
        var e = Assert.Throws<InvalidInputException>(new SineDemoOptions { Domains = domains, Shots = shots }.Validate);

        Assert.StartsWith("domains x shots:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Domains_times_shots_up_to_one_arrays_length_are_taken() =>
        new SineDemoOptions { Domains = 1, Shots = Array.MaxLength }.Validate();
}
