using System.Globalization;
using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The agent's <c>cross.outlier_filter</c> (DESIGN §10: pending updates are aggregated "in domain id order", through
/// §4): "Outlier filter (a single pass, when on and n &gt;= outlier_min_domains, n = eligible count): m_d = median
/// of column d's present values ...; r_i = sqrt(mean over i's present cells of (x_id - m_d)^2); scale = max(1.4826 *
/// median_i |r_i - median(r)|, 1e-12); flag i when r_i &gt; median(r) + z * scale". The agent traces run with the
/// filter off and never send a round it would change, so turning it on leaves them passing.
/// </summary>
/// <remarks>
/// A round of five domains (the default outlier_min_domains) that agree on tau = 1 and g_min = 0.01, and one wild
/// domain "e" with tau = 100. Medians: tau 1, g_min 0.01; r = 0 for a-d and 99 / sqrt 2 for e; median(r) = 0,
/// the MAD is 0, so scale = 1e-12 and e is flagged (the cap floor((5 - 1) / 2) = 2 does not bind). Filter on: the
/// mean of a-d, tau 1. Filter off: tau = (4 + 100) / 5 = 20.8. A new key adopts the aggregate (interpolate).
/// </remarks>
public sealed class AgentOutlierFilterTests
{
    private static MetaLearningConfig Config(bool outlierFilter) => AgentTestConfig.EveryWindow with
    {
        Cross = AgentTestConfig.EveryWindow.Cross with { OutlierFilter = outlierFilter },
    };

    private static async Task<(MetaLearningAgent Agent, JsonObject Update)> OneRound(EventBus bus, MetaLearningConfig config, IReadOnlyList<(string Id, double Tau)> domains)
    {
        JsonObject? update = null;
        using var _ = bus.Subscribe(LearningTopics.MetaUpdate, (e, _) =>
        {
            update = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(e.Payload))!.AsObject();
            return ValueTask.CompletedTask;
        });
        var agent = new MetaLearningAgent(bus, config);
        await agent.StartAsync();
        foreach (var (id, tau) in domains)
        {
            await bus.PublishAsync(LearningTopics.PolicyPack, JsonNode.Parse(string.Create(CultureInfo.InvariantCulture,
                $$$"""{"domain_id": "{{{id}}}", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": {{{tau}}}}, "evaluator": {"g_min": 0.01}}""")));
        }
        await bus.PublishAsync(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 50}"""));
        await bus.WaitForIdleAsync();
        Assert.NotNull(update);
        return (agent, update);
    }

    private static readonly (string, double)[] FiveWithOneWild = [("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 1.0), ("e", 100.0)];

    [Fact]
    public async Task With_the_filter_on_the_wild_domain_is_dropped_and_the_prior_follows_the_others()
    {
        await using var bus = new EventBus();
        var (agent, update) = await OneRound(bus, Config(outlierFilter: true), FiveWithOneWild);
        await using var _ = agent;

        Assert.Equal(1.0, agent.GlobalPrior["tau"], 6);
        Assert.Equal(0.01, agent.GlobalPrior["g_min"], 6);
        var meta = update["meta"]!.AsObject();
        Assert.Equal(4, meta["participants"]!.GetValue<int>());
        Assert.Equal(["e"], meta["outliers"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task With_the_filter_off_the_wild_domain_pulls_the_mean()
    {
        await using var bus = new EventBus();
        var (agent, update) = await OneRound(bus, Config(outlierFilter: false), FiveWithOneWild);
        await using var _ = agent;

        Assert.Equal(20.8, agent.GlobalPrior["tau"], 5);
        Assert.Equal(0.01, agent.GlobalPrior["g_min"], 6);
        var meta = update["meta"]!.AsObject();
        Assert.Equal(5, meta["participants"]!.GetValue<int>());
        Assert.Empty(meta["outliers"]!.AsArray());
    }

    [Fact]
    public async Task Below_outlier_min_domains_the_filter_does_not_run_even_when_on()
    {
        // Four domains (< 5): no pass; tau = (3 + 100) / 4 = 25.75.
        await using var bus = new EventBus();
        var (agent, update) = await OneRound(bus, Config(outlierFilter: true), [("a", 1.0), ("b", 1.0), ("c", 1.0), ("e", 100.0)]);
        await using var _ = agent;

        Assert.Equal(25.75, agent.GlobalPrior["tau"], 5);
        Assert.Empty(update["meta"]!["outliers"]!.AsArray());
    }

    [Fact]
    public async Task The_filter_is_read_from_the_cross_section_of_the_agent_config()
    {
        var config = MetaLearningConfig.Default.With(JsonNode.Parse("""
            {"scheduler": {"update_interval_windows": 1, "min_interval_windows": 1, "jitter": 0},
             "validator": {"min_confidence": 0.05},
             "cross": {"method": "mean", "weighting": "uniform", "missing_keys": "zero", "outlier_filter": true, "diversity_entropy_target": null}}
            """)!.AsObject());
        await using var bus = new EventBus();
        var (agent, update) = await OneRound(bus, config, FiveWithOneWild);
        await using var _ = agent;

        Assert.True(agent.Config.Cross.OutlierFilter);
        Assert.Equal(1.0, agent.GlobalPrior["tau"], 6);
        Assert.Equal(["e"], update["meta"]!["outliers"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task Pending_updates_are_aggregated_in_domain_id_order_whatever_order_they_arrived_in()
    {
        // Seven domains arriving from "g" down to "a", "b" and "f" wild: both flagged (MAD 0, cap 3), and the
        // outlier list is in row order, which §10 makes domain id order.
        await using var bus = new EventBus();
        var (agent, update) = await OneRound(bus, Config(outlierFilter: true),
            [("g", 1.0), ("f", 200.0), ("e", 1.0), ("d", 1.0), ("c", 1.0), ("b", 100.0), ("a", 1.0)]);
        await using var _ = agent;

        Assert.Equal(1.0, agent.GlobalPrior["tau"], 6);
        Assert.Equal(["b", "f"], update["meta"]!["outliers"]!.AsArray().Select(n => n!.GetValue<string>()));
    }
}
