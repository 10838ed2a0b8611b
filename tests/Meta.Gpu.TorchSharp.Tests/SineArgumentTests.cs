using Meta.Gpu.TorchSharp.Sine;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>The sine demo's pieces refuse arguments that libtorch would take and answer wrongly (broadcast targets, a
/// NaN rate, a one-point grid), naming the argument.</summary>
public sealed class SineArgumentTests
{
    // Targets of another length were broadcast against the predictions (libtorch only warned on stderr): a loss of
    // three points against one target was returned as a number.
    [Fact]
    public void Loss_and_Adapt_refuse_x_and_y_of_different_lengths_by_name()
    {
        using var model = new SineRegressor(1, 0.01);

        var loss = Assert.Throws<ArgumentException>(() => model.Loss([1, 2, 3], [1]));
        var adapt = Assert.Throws<ArgumentException>(() => model.Adapt([1, 2, 3], [1], 2));
        var task = Assert.Throws<ArgumentException>(() => SineDemo.AdaptToTask(model, "d", [1, 2, 3], [1], 2));

        Assert.Equal("y", loss.ParamName);
        Assert.Equal("y", adapt.ParamName);
        Assert.Equal("y", task.ParamName);
    }

    [Fact]
    public void Empty_or_null_points_are_refused_by_name()
    {
        using var model = new SineRegressor(1, 0.01);

        Assert.Equal("x", Assert.Throws<ArgumentException>(() => model.Loss([], [])).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => model.Predict(null!)).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentNullException>(() => model.Adapt([1], null!, 1)).ParamName);
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => model.Adapt([1], [1], -1)).ParamName);
    }

    // A NaN learning rate was taken (every adapted network NaN); a negative one was refused by TorchSharp as
    // "Invalid learning rate" without naming the argument.
    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    public void A_learning_rate_that_is_not_finite_and_positive_is_refused_by_name(double rate)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SineRegressor(1, rate));

        Assert.Equal("innerLearningRate", e.ParamName);
    }

    // Used after Dispose, the network failed with libtorch's "Tensor invalid -- empty handle".
    [Fact]
    public void A_disposed_regressor_throws_ObjectDisposedException()
    {
        var model = new SineRegressor(1, 0.01);
        model.Dispose();

        Assert.Throws<ObjectDisposedException>(() => model.Loss([1], [1]));
        Assert.Throws<ObjectDisposedException>(() => model.Adapt([1], [1], 1));
        Assert.Throws<ObjectDisposedException>(() => model.Predict([1]));
        model.Dispose();
    }

    // Grid(1) divided by count - 1 = 0 and returned x = NaN; a negative count threw an OverflowException.
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-1)]
    public void Grid_refuses_fewer_than_two_points_by_name(int count)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SineTask(1, 0).Grid(count));

        Assert.Equal("count", e.ParamName);
    }

    [Fact]
    public void A_negative_shot_count_is_refused_by_name()
    {
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => new SineTask(1, 0).SampleShots(new Random(1), -1)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => SineRoundTasks.Sample(1, "d", 0, -1)).ParamName);
    }

    // A null knobs map was found only after the joint training and the held-out evaluation had run, as LINQ's
    // "Value cannot be null (Parameter 'source')".
    [Fact]
    public void Compare_refuses_null_arguments_by_name_before_running()
    {
        var options = new SineDemoOptions { MetaRounds = 1, Domains = 1, HeldOutTasks = 1, EvaluationPoints = 2 };
        var prior = new float[1 * 40 + 40 + 40 * 40 + 40 + 40 + 1];
        var progressed = false;

        var knobs = Assert.Throws<ArgumentNullException>(() =>
            SineDemo.Compare(options, "cpu", prior, 0.1, null!, TimeSpan.Zero, _ => progressed = true));
        var backend = Assert.Throws<ArgumentNullException>(() =>
            SineDemo.Compare(options, null!, prior, 0.1, new Dictionary<string, double>(), TimeSpan.Zero, _ => progressed = true));

        Assert.Equal("knobs", knobs.ParamName);
        Assert.Equal("backend", backend.ParamName);
        Assert.False(progressed);
    }
}
