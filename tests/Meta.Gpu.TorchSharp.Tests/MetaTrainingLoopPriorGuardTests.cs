using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>What <see cref="MetaTrainingLoop"/> refuses outside a round's rules: a prior set while a round runs or
/// after a parameter was replaced, use after dispose, a null step size source; each refused before anything changes.</summary>
public sealed class MetaTrainingLoopPriorGuardTests
{
    // SetPrior from inside a round (an inner loop, or another thread while one runs) was taken: the domains after it
    // adapted from another prior than those before it, and the step moved from the new prior with rows of both.
    [Fact]
    public async Task SetPrior_while_a_round_runs_is_refused_and_the_round_changes_nothing()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        var prior0 = loop.Prior.ToArray();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync(new[] { "a", "b" }, id =>
        {
            if (id == "a") loop.SetPrior(new float[] { 5, 5, 5 });
            return new DomainOutcome(id, 1, 0.5, 1);
        }));

        Assert.Contains("running", e.Message, StringComparison.Ordinal);
        Assert.Equal(prior0, loop.Prior.ToArray());
        Assert.Equal(0, loop.Round);
        // Refusing did not leave the loop marked busy.
        loop.SetPrior(new float[] { 5, 5, 5 });
        Assert.Equal([5f, 5f, 5f], loop.Prior.ToArray());
    }

    // A parameter replaced since the loop was made: SetPrior overwrote Prior and then threw from the copy into the
    // module, leaving the two apart (the next round refuses, but Prior no longer says what the module holds).
    [Fact]
    public void SetPrior_after_a_parameter_was_replaced_is_refused_by_name_and_changes_nothing()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        var prior0 = loop.Prior.ToArray();
        model.bias = new Parameter(zeros(1));

        var e = Assert.Throws<InvalidOperationException>(() => loop.SetPrior(new float[] { 5, 5, 5 }));

        Assert.Equal(prior0, loop.Prior.ToArray());
        Assert.Contains("'bias'", e.Message, StringComparison.Ordinal);
    }

    // SetPrior on a disposed loop overwrote Prior and then threw from the disposed ParameterVector.
    [Fact]
    public void SetPrior_after_dispose_throws_ObjectDisposedException_and_leaves_the_prior()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        var prior0 = loop.Prior.ToArray();
        loop.Dispose();

        var e = Assert.Throws<ObjectDisposedException>(() => loop.SetPrior(new float[] { 5, 5, 5 }));

        Assert.Equal(prior0, loop.Prior.ToArray());
        Assert.Contains(nameof(MetaTrainingLoop), e.ObjectName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_round_after_dispose_throws_ObjectDisposedException_naming_the_loop()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        loop.Dispose();

        var e = await Assert.ThrowsAsync<ObjectDisposedException>(() => loop.RunRoundAsync(new[] { "a" }, id => new DomainOutcome(id, 1, 0.5, 1)));

        Assert.Contains(nameof(MetaTrainingLoop), e.ObjectName, StringComparison.Ordinal);
    }

    // Dispose from another thread (a shutdown handler) while a domain adapted freed the loop's tensors under the
    // round: the round failed on the disposed ParameterVector before it could put the prior back, and the module kept
    // that domain's adaptation where the prior belongs.
    [Fact]
    public async Task Dispose_while_a_round_runs_lets_the_round_complete_and_the_module_hold_the_prior()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var round = Task.Run(() => loop.RunRoundAsync(new[] { "a", "b" }, id =>
        {
            probe.CopyFrom(new float[] { 1, 2, 3 });
            if (id == "a")
            {
                inside.Set();
                Assert.True(release.Wait(TimeSpan.FromSeconds(30)));
            }
            return new DomainOutcome(id, 1, 0.5, 1);
        }));
        Assert.True(inside.Wait(TimeSpan.FromSeconds(30)));

        loop.Dispose();
        release.Set();
        var result = await round;

        Assert.Equal(1, result.Round);
        var module = new float[probe.Length];
        probe.CopyTo(module);
        Assert.Equal(loop.Prior.ToArray(), module);
        // Released once the round was done with them, and refused from then on.
        Assert.Throws<ObjectDisposedException>(() => loop.Parameters.CopyTo(module));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => loop.RunRoundAsync(new[] { "a" }, id => new DomainOutcome(id, 1, 0.5, 1)));
        loop.Dispose();
    }

    // A null step size was taken and every later round failed with a NullReferenceException naming nothing.
    [Fact]
    public void A_null_step_size_source_is_refused_when_set()
    {
        manual_seed(3);
        using var model = nn.Linear(2, 1);
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());

        var e = Assert.Throws<ArgumentNullException>(() => loop.StepSize = null!);

        Assert.Equal("value", e.ParamName);
    }
}
