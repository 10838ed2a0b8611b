using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// <c>beta_max</c>, the upper bound of the Reptile step size (DESIGN §8): "(a) beta x decay when vram_high or
/// latency_high; x growth when bandwidth_free; then clamp once to [beta_init * beta_min_factor, beta_max]."
/// The reference traces never push beta to its bound (any beta_max leaves them passing), so the bound is pinned
/// here with values worked out by hand.
/// </summary>
public sealed class OptimizerBetaMaxTests
{
    private static readonly DrgProfile Free = new(BandwidthFree: true);

    [Fact]
    public void Beta_grows_by_the_growth_rate_until_beta_max_and_then_stays_there()
    {
        // beta_init 0.1, growth 1.1, beta_max 0.15: 0.11, 0.121, 0.1331, 0.14641, then 0.161051 -> 0.15, and from
        // there 0.15 * 1.1 = 0.165 -> 0.15 every step.
        var optimizer = new OnlineReptileOptimizer(new OptimizerConfig(BetaInit: 0.1, BetaMax: 0.15, BetaGrowthRate: 1.1));
        double[] expected = [0.11, 0.121, 0.1331, 0.14641, 0.15, 0.15, 0.15, 0.15];

        var seen = new List<double>();
        foreach (var _ in expected)
        {
            optimizer.Apply([1f], ["a"], 0.0, Free);
            seen.Add(optimizer.Beta);
        }

        Assert.Equal(expected.Length, seen.Count);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], seen[i], 12);
    }

    [Fact]
    public void The_step_taken_at_the_bound_uses_beta_max_not_the_grown_value()
    {
        // beta_max = beta_init = 0.2 and growth 2: beta stays 0.2. Interpolate from a = 0 toward 1:
        // 0 + 0.2 * 1 = 0.2, then 0.2 + 0.2 * 0.8 = 0.36 (an unclamped 0.4 and 0.8 would give 0.4, then 0.88).
        var optimizer = new OnlineReptileOptimizer(
            new OptimizerConfig(BetaInit: 0.2, BetaMax: 0.2, BetaGrowthRate: 2.0),
            new Dictionary<string, double> { ["a"] = 0.0 });

        optimizer.Apply([1f], ["a"], 0.0, Free);
        Assert.Equal(0.2, optimizer.Prior["a"], 12);
        optimizer.Apply([1f], ["a"], 0.0, Free);
        Assert.Equal(0.36, optimizer.Prior["a"], 12);
        Assert.Equal(0.2, optimizer.Beta, 12);
    }

    [Fact]
    public void A_load_step_from_beta_max_decays_from_the_bound()
    {
        // At the bound 0.15, a step under load and with free bandwidth: 0.15 * 0.8 * 1.1 = 0.132 (clamped once,
        // after both factors); the grown value 0.165 that the clamp cut off is not remembered.
        var optimizer = new OnlineReptileOptimizer(new OptimizerConfig(BetaInit: 0.1, BetaMax: 0.15, BetaGrowthRate: 1.1));
        for (var i = 0; i < 6; i++) optimizer.Apply([1f], ["a"], 0.0, Free); // 0.11 .. 0.14641, 0.15, 0.15
        Assert.Equal(0.15, optimizer.Beta, 12);

        optimizer.Apply([1f], ["a"], 0.0, new DrgProfile(VramHigh: true, BandwidthFree: true));

        Assert.Equal(0.132, optimizer.Beta, 12);
    }

    [Fact]
    public void Beta_max_read_from_the_optimizer_section_bounds_the_step()
    {
        var config = OptimizerConfig.Default.With(JsonNode.Parse("""{"beta_max": 0.12}""")!.AsObject());
        var optimizer = new OnlineReptileOptimizer(config);

        optimizer.Apply([1f], ["a"], 0.0, Free); // 0.11
        optimizer.Apply([1f], ["a"], 0.0, Free); // 0.121 -> 0.12

        Assert.Equal(0.12, config.BetaMax);
        Assert.Equal(0.12, optimizer.Beta, 12);
    }

    [Fact]
    public async Task The_agent_bounds_its_knob_prior_step_by_the_configured_beta_max()
    {
        // The agent's DRG profile carries bandwidth_free from processing_metrics (DESIGN §10); with beta_max 0.12
        // the rounds take 0.11, then 0.121 -> 0.12, then 0.12.
        await using var bus = new EventBus();
        var config = AgentTestConfig.EveryWindow with { Optimizer = new OptimizerConfig(BetaMax: 0.12) };
        await using var agent = new MetaLearningAgent(bus, config);
        await agent.StartAsync();

        var betas = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            await bus.PublishAsync(LearningTopics.PolicyPack, JsonNode.Parse(
                """{"domain_id": "a", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.0}, "evaluator": {}}"""));
            await bus.PublishAsync(LearningTopics.ProcessingMetrics, JsonNode.Parse(
                """{"gain_p50": 0.5, "latency_ms": 50, "bandwidth_free": true}"""));
            await bus.WaitForIdleAsync();
            betas.Add(agent.Optimizer.Beta);
        }

        Assert.Equal(3, agent.Rounds);
        Assert.Equal(0.11, betas[0], 12);
        Assert.Equal(0.12, betas[1], 12);
        Assert.Equal(0.12, betas[2], 12);
    }
}
