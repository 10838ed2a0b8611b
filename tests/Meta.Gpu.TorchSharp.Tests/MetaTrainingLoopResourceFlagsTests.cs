using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Serialization;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// After each round the loop steps the optimizer it follows with the round's resource flags: <c>latency_high</c>
/// when the outer step took longer than <see cref="MetaTrainingOptions.LatencyTargetMs"/> (beta shrinks by the decay
/// rate, DESIGN §8), <c>bandwidth_free</c> when it took less than <see cref="MetaTrainingOptions.ComfortLatencyMs"/>
/// (beta grows); <c>processing_metrics</c> carries the same <c>bandwidth_free</c>.
/// </summary>
public sealed class MetaTrainingLoopResourceFlagsTests
{
    private static async Task<(double Beta, JsonObject Processing)> OneRound(MetaTrainingOptions options)
    {
        manual_seed(7);
        using var model = nn.Linear(2, 1);
        using var probe = new ParameterVector(model);
        var bus = new ScriptedBus();
        using var loop = new MetaTrainingLoop(model, new WeightedMeanReptileStep(), options, bus);
        var optimizer = new OnlineReptileOptimizer();
        loop.FollowOptimizer(optimizer);

        await loop.RunRoundAsync(["d0"], id =>
        {
            probe.CopyFrom(new float[] { 1, 1, 1 });
            return new DomainOutcome(id, 1.0, 0.5, 1.0);
        });

        var processing = BusPayload.AsObject(bus.Published.Single(e => e.Topic == "processing_metrics").Payload, "processing_metrics");
        return (optimizer.Beta, processing);
    }

    [Fact]
    public async Task An_outer_step_slower_than_the_latency_target_shrinks_beta()
    {
        // Any step takes longer than 0 ms; none takes less than 0 ms.
        var (beta, processing) = await OneRound(new MetaTrainingOptions { ComfortLatencyMs = 0, LatencyTargetMs = 0 });

        Assert.Equal(0.1 * 0.8, beta, 12);
        Assert.False((bool)processing["bandwidth_free"]!);
    }

    [Fact]
    public async Task An_outer_step_within_the_comfort_latency_grows_beta()
    {
        var (beta, processing) = await OneRound(new MetaTrainingOptions { ComfortLatencyMs = 600_000, LatencyTargetMs = 600_000 });

        Assert.Equal(0.1 * 1.1, beta, 12);
        Assert.True((bool)processing["bandwidth_free"]!);
    }
}
