using System.Text.Json.Nodes;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

public sealed class MetaTrainingLoopInputTests
{
    private static Func<string, DomainOutcome> Writing(ParameterVector probe, Func<string, DomainOutcome> outcome) => id =>
    {
        probe.CopyFrom(new float[] { 1, 1, 1 });
        return outcome(id);
    };

    /// <summary>One round of one domain, <paramref name="update"/> published in process on meta_policy_update, then a
    /// second round: the loop's knobs after it, and that round.</summary>
    private static async Task<(Dictionary<string, double> Knobs, MetaRoundResult Round)> RoundAfterPolicyUpdate(JsonObject update)
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new EventBus();
        await using var _ = bus;
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);
        var inner = Writing(probe, id => new DomainOutcome(id, 1, 0.5, 1));

        await loop.RunRoundAsync(["a"], inner);
        await bus.PublishAsync("meta_policy_update", update);
        await bus.WaitForIdleAsync();
        var round = await loop.RunRoundAsync(["a"], inner);
        return (new Dictionary<string, double>(loop.Knobs), round);
    }

    // A meta_policy_update built in process with integer-typed (or float-typed) JSON numbers: every number is a
    // valid knob value, yet the inbox read it with TryGetValue<double>, which converts only doubles and numbers
    // parsed from text, so the update was dropped without a word.
    [Fact]
    public async Task Knob_values_that_are_json_numbers_of_another_clr_type_are_followed()
    {
        var (knobs, _) = await RoundAfterPolicyUpdate(new JsonObject
        {
            ["controller"] = new JsonObject { ["tau"] = 1 },            // int
            ["evaluator"] = new JsonObject { ["g_min"] = 0.015f },     // float
        });

        Assert.Equal(1.0, knobs["tau"]);
        Assert.Equal(0.015, knobs["g_min"], 6);
    }

    // A policy update built in process may carry a double that is NaN or infinite (no JSON text can): such a knob value
    // is ignored and the knob keeps its value, as a non-number is; taken, tau = NaN or g_min = inf went out in every
    // later policy pack and g_min = inf counted no domain as accepted.
    [Fact]
    public async Task Knob_values_that_are_not_finite_are_ignored()
    {
        var (knobs, round) = await RoundAfterPolicyUpdate(new JsonObject
        {
            ["controller"] = new JsonObject { ["tau"] = double.NaN, ["gamma_diversity"] = 0.4 },
            ["evaluator"] = new JsonObject { ["g_min"] = double.PositiveInfinity, ["lambda_ci"] = double.NegativeInfinity },
        });

        Assert.Equal(0.9, knobs["tau"]);
        Assert.Equal(0.4, knobs["gamma_diversity"]);
        Assert.Equal(0.01, knobs["g_min"]);
        Assert.Equal(0.5, knobs["lambda_ci"]);
        Assert.Equal(1.0, round.AcceptRate);
    }

    // One domain whose confidence is NaN (its pack reads it as 0): the round's processing_metrics dropped
    // stability_avg altogether (the supervisor then reads 0 for the whole round), where the comment says a figure
    // is left out only when no domain gives a finite one.
    [Fact]
    public async Task One_nan_confidence_does_not_drop_the_rounds_stability()
    {
        manual_seed(11);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), bus: bus);

        await loop.RunRoundAsync(["a", "b"], Writing(probe, id => new DomainOutcome(id, 1, 0.5, id == "a" ? 1.0 : double.NaN)));

        var processing = bus.Published.Single(e => e.Topic == "processing_metrics");
        var stability = BusPayload.AsObject(processing.Payload, processing.Topic)["stability_avg"];
        Assert.NotNull(stability);
    }
}
