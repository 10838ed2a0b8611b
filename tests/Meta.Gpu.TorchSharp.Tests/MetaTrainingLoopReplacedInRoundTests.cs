using global::TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// An inner loop that replaces one of the module's parameters (a new Parameter assigned to a property, or
/// module.to(...) to another dtype): the round is refused, and what it can still put back goes back. The failed
/// round's restore copied the prior into the module through the checked copy, which refused on the replaced (and
/// disposed) parameter before writing any: the parameters left intact kept the domain's adaptation and the buffers
/// its running statistics, and a new loop made for the module "as it is now" (what the refusal tells the caller to
/// do) took that domain's adaptation as its prior. The exception said "disposed", hiding the inner loop's own.
/// </summary>
public sealed class MetaTrainingLoopReplacedInRoundTests
{
    private static (Sequential Model, Linear Lin, BatchNorm1d Norm) Model()
    {
        manual_seed(4);
        var lin = nn.Linear(2, 1);
        var norm = nn.BatchNorm1d(1);
        return (nn.Sequential(("lin", lin), ("bn", norm)), lin, norm);
    }

    private static void Adapt(Sequential model, Linear lin)
    {
        using (no_grad()) lin.weight!.add_(1);
        model.train();
        using var scope = NewDisposeScope();
        model.forward(randn(8, 2) + 3);
    }

    [Fact]
    public async Task A_parameter_replaced_by_the_inner_loop_is_refused_by_name_and_the_rest_of_the_module_goes_back_to_the_prior()
    {
        var (model, lin, norm) = Model();
        using var _ = model;
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());
        var prior0 = loop.Prior.ToArray();
        var mean0 = norm.running_mean!.data<float>().ToArray();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync(new[] { "a" }, id =>
        {
            Adapt(model, lin);
            lin.bias = new Parameter(zeros(1));
            return new DomainOutcome(id, 1, 0.5, 1);
        }));

        Assert.Equal(0, loop.Round);
        Assert.Equal(prior0, loop.Prior.ToArray());
        // lin.weight was not replaced: it holds the prior again, not the domain's adaptation (prior + 1).
        Assert.Equal(prior0[..2], lin.weight!.data<float>().ToArray());
        Assert.Equal(mean0, norm.running_mean!.data<float>().ToArray());
        Assert.Contains("'lin.bias'", e.Message, StringComparison.Ordinal);
        Assert.Contains("replaced", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inner_loop_that_moved_the_module_to_another_dtype_and_failed_throws_its_own_exception()
    {
        var (model, lin, _) = Model();
        using var __ = model;
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep());

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => loop.RunRoundAsync(new[] { "a" }, _ =>
        {
            Adapt(model, lin);
            model.to(ScalarType.Float64);
            throw new InvalidOperationException("inner loop: the loss went NaN");
        }));

        Assert.Equal("inner loop: the loss went NaN", e.Message);
        Assert.Equal(0, loop.Round);
    }
}
