using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>An agent fed through HandleAsync without StartAsync: its round would save over the trained prior its store
/// holds, which only the start loads (the stop already refuses to save for a never-started agent).</summary>
public sealed class AgentNotStartedTests
{
    private static readonly MetaLearningConfig Config = AgentTestConfig.EveryWindow;

    private static BusEvent Pack(string domain, double tau) => new(LearningTopics.PolicyPack, new JsonObject
    {
        ["domain_id"] = domain,
        ["metrics"] = new JsonObject { ["gain_p50"] = 0.5, ["stability_avg"] = 0.9 },
        ["controller"] = new JsonObject { ["tau"] = tau },
        ["evaluator"] = new JsonObject { ["g_min"] = 0.01 },
    });

    private static BusEvent Window => new(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}"""));

    [Fact]
    public async Task An_agent_fed_before_its_start_refuses_and_leaves_the_stored_prior_as_it_was()
    {
        var store = new InMemoryPriorStore();
        var trained = new Dictionary<string, double> { ["tau"] = 0.42, ["g_min"] = 0.03 };
        store.SavePrior(trained, new Dictionary<string, long>());
        await using var bus = new EventBus();
        await using var agent = new MetaLearningAgent(bus, Config, store);

        // Before: the round ran from an empty prior and saved {tau 0.8, g_min 0.01} over the trained one.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await agent.HandleAsync(Pack("a", 0.8), default));
        Assert.Contains("not started", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await agent.HandleAsync(Window, default));
        Assert.Equal(trained, store.LoadPrior());

        // Started, the same events make a round from the trained prior.
        await agent.StartAsync();
        await agent.HandleAsync(Pack("a", 0.8), default);
        await agent.HandleAsync(Window, default);
        Assert.Equal(1, agent.Rounds);
        Assert.NotEqual(trained, store.LoadPrior());
    }
}
