using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The agent's DRG flag latency_high (DESIGN §10): "latency_high = latency_ms &gt; the scheduler's latency target".
/// It steers the knob prior's step size (§8 (a): beta x decay when latency_high), so a round's beta shows it. The
/// comparison is strict: a window exactly at the target is not under load.
/// </summary>
public sealed class AgentLatencyHighTests
{
    private const double Target = 100;

    private static readonly MetaLearningConfig Config = AgentTestConfig.EveryWindow with
    {
        Scheduler = AgentTestConfig.EveryWindow.Scheduler with { LatencyTargetMs = Target },
    };

    private static BusEvent Pack(double tau) => new(LearningTopics.PolicyPack, JsonNode.Parse(
        $$$"""{"domain_id": "a", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": {{{tau}}}}, "evaluator": {}}"""));

    private static BusEvent Window(double latencyMs) =>
        new(LearningTopics.ProcessingMetrics, new JsonObject { ["gain_p50"] = 0.5, ["latency_ms"] = latencyMs });

    [Fact]
    public async Task A_window_exactly_at_the_latency_target_is_not_latency_high_and_the_next_double_above_is()
    {
        await using var bus = new EventBus();
        await using var agent = new MetaLearningAgent(bus, Config);
        await agent.StartAsync();

        await agent.HandleAsync(Pack(1.0), default);
        await agent.HandleAsync(Window(Target), default);
        Assert.Equal(1, agent.Rounds);
        Assert.Equal(0.1, agent.Optimizer.Beta, 12); // beta_init, not decayed

        await agent.HandleAsync(Pack(1.0), default);
        await agent.HandleAsync(Window(Math.BitIncrement(Target)), default);
        Assert.Equal(2, agent.Rounds);
        Assert.Equal(0.1 * 0.8, agent.Optimizer.Beta, 12); // x beta_decay_rate
    }
}
