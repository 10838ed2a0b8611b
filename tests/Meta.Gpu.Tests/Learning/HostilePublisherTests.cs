using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>Hostile or buggy publishers on the keyed lane: one bad message must not lock a domain out, nor make the
/// saved prior unreadable; each case failed before its fix (the dense lane's are in DenseLaneEdgeTests).</summary>
public sealed class HostilePublisherTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hostile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly MetaLearningConfig Config = AgentTestConfig.EveryWindow;

    [Fact]
    public async Task Policy_pack_domain_ids_with_lone_surrogates_do_not_make_the_saved_prior_unreadable()
    {
        // The JSON writer turns a lone surrogate into U+FFFD: "x\ud800" and "x\ud801" were written as the same
        // property of last_sequences, which the reader refused as a duplicate key: global_prior.json and, after
        // retention rounds, every backup were unreadable, and the agent refused to start.
        await using var bus = new EventBus();
        var storage = new MetaStorageManager(new StorageConfig(_dir));
        await using (var agent = new MetaLearningAgent(bus, Config, storage))
        {
            await agent.StartAsync();
            static JsonObject Pack(string domain, long sequence) => new()
            {
                ["domain_id"] = domain,
                ["sequence"] = sequence,
                ["metrics"] = new JsonObject { ["gain_p50"] = 0.5, ["stability_avg"] = 0.9 },
                ["controller"] = new JsonObject { ["tau"] = 0.8 },
                ["evaluator"] = new JsonObject { ["g_min"] = 0.01 },
            };
            var window = JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}""");
            foreach (var bad in new[] { "x\ud800", "x\ud801" })
            {
                var error = await Assert.ThrowsAsync<InvalidInputException>(async () =>
                    await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, Pack(bad, 1)), CancellationToken.None));
                Assert.Contains("domain_id: not well-formed Unicode", error.Message, StringComparison.Ordinal);
            }
            for (var s = 1; s <= 12; s++)
            {
                await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, Pack("good", s)), CancellationToken.None);
                await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, window), CancellationToken.None);
            }
        }
        await using var restarted = new MetaLearningAgent(bus, Config, new MetaStorageManager(new StorageConfig(_dir)));
        await restarted.StartAsync();
        Assert.Equal(12, restarted.LastAppliedSequences["good"]);
    }

    [Fact]
    public async Task A_policy_pack_sequence_above_2_to_53_is_not_rounded_onto_the_previous_one()
    {
        // The sequence was read as a double: 2^53 + 1 read as 2^53 and the newer pack was dropped as stale.
        await using var bus = new EventBus();
        await using var agent = new MetaLearningAgent(bus, Config, new InMemoryPriorStore());
        await agent.StartAsync();
        const long s = 1L << 53;
        await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse($$$"""{"domain_id": "a", "sequence": {{{s}}}, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 0.8}, "evaluator": {}}""")), CancellationToken.None);
        await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}""")), CancellationToken.None);
        Assert.Equal(s, agent.LastAppliedSequences["a"]);
        await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse($$$"""{"domain_id": "a", "sequence": {{{s + 1}}}, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 0.9}, "evaluator": {}}""")), CancellationToken.None);
        Assert.Equal(0, agent.StalePacks);
        Assert.Equal(["a"], agent.PendingDomains);
    }
}
