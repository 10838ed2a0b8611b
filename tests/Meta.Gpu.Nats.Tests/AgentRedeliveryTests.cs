using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Nats.Tests;

/// <summary>DESIGN §10 end to end: the learning agent keeps a pending pack unacknowledged until the round that
/// applies it has saved, so a crash loses nothing, and a redelivery after the save is ignored.</summary>
public sealed class AgentRedeliveryTests
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
        Validator = new ValidatorConfig(MinConfidence: 0.05),
        Cross = CrossMetaConfig.Compat with { Method = AggregationMethod.Mean },
    };

    private static JsonObject Pack(string domain, long sequence) => new()
    {
        ["domain_id"] = domain,
        ["sequence"] = sequence,
        ["metrics"] = new JsonObject { ["gain_p50"] = 0.5, ["stability_avg"] = 0.9 },
        ["controller"] = new JsonObject { ["tau"] = 1.0 },
        ["evaluator"] = new JsonObject { ["g_min"] = 0.01 },
    };

    private static readonly JsonNode Window = JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}""")!;

    /// <summary>Waits until <paramref name="agent"/> holds exactly <paramref name="domains"/> pending (a redelivery
    /// comes after the ack wait), or the patience runs out.</summary>
    private static async Task<IReadOnlyList<string>> PendingSoon(MetaLearningAgent agent, IEventBus bus, string[] domains)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!agent.PendingDomains.SequenceEqual(domains) && DateTime.UtcNow < deadline)
        {
            await bus.WaitForIdleAsync().WaitAsync(TimeSpan.FromSeconds(20));
            await Task.Delay(50);
        }
        return agent.PendingDomains;
    }

    /// <summary>§7 at the design's validator (min_confidence 0.1): a domain's first pack (confidence 0.09) is refused
    /// and trust is earned over windows. The learner's state is saved with the prior, so the pack pending at a crash
    /// is judged after the restart by a learner that kept its trust, and applied (a fresh learner refused it, at 0.09,
    /// and acknowledged it: lost).</summary>
    [Fact]
    public async Task A_pack_pending_at_a_crash_is_applied_after_the_restart_by_a_learner_that_kept_its_trust()
    {
        var config = Config with { Validator = new ValidatorConfig() };
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { AckWait = Buses.CrashAckWait };
        var root = Directory.CreateTempSubdirectory("meta-gpu-redelivery-").FullName;
        try
        {
            await using (var domains = await Buses.ConnectAsync(options))
            {
                await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d1", 1));
                await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d1", 2));
            }

            // The first aggregator refuses d1's first pack, takes the second, applies it in a round and saves; then
            // it takes d1's third pack in as pending and dies before the next round.
            var first = await Buses.ConnectAsync(options);
            var crashed = new MetaLearningAgent(first, config, new MetaStorageManager(new StorageConfig(root)));
            await crashed.StartAsync();
            Assert.Equal(["d1"], await PendingSoon(crashed, first, ["d1"]));
            await crashed.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, Window.DeepClone()), CancellationToken.None);
            Assert.Equal(1, crashed.Rounds);
            Assert.Equal(2, crashed.LastAppliedSequences["d1"]);
            await using (var domains = await Buses.ConnectAsync(options))
                await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d1", 3));
            Assert.Equal(["d1"], await PendingSoon(crashed, first, ["d1"]));
            await first.AbandonAsync();

            // The second gets the pack again and judges it with d1's saved trust: pending, then applied.
            await using (var second = await Buses.ConnectAsync(options))
            {
                await using var agent = new MetaLearningAgent(second, config, new MetaStorageManager(new StorageConfig(root)));
                await agent.StartAsync();
                Assert.Equal(["d1"], await PendingSoon(agent, second, ["d1"]));
                await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, Window.DeepClone()), CancellationToken.None);
                Assert.Equal(1, agent.Rounds);
                Assert.Equal(3, agent.LastAppliedSequences["d1"]);
                Assert.Equal(3, agent.Learner.State("d1")!.Observations);
            }

            // Nothing is left on the broker.
            await using var third = await Buses.ConnectAsync(options);
            await using var resumed = new MetaLearningAgent(third, config, new MetaStorageManager(new StorageConfig(root)));
            await resumed.StartAsync();
            await third.WaitForIdleAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Empty(resumed.PendingDomains);
            Assert.Equal(0, resumed.StalePacks);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>serve's SIGTERM with the product's ack wait: the pack pending at the clean stop would come back only
    /// after the ack wait, behind the domain's newer packs, and be ignored then as not newer (never observed). The
    /// stop saves it, observed and pending, and acknowledges it: the restarted agent observes each pack once and
    /// applies the newest, as the uninterrupted one would have.</summary>
    [Fact]
    public async Task A_pack_pending_at_a_clean_stop_is_observed_once_when_a_newer_pack_reaches_the_restarted_agent_first()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        var root = Directory.CreateTempSubdirectory("meta-gpu-redelivery-").FullName;
        try
        {
            await using (var domains = await Buses.ConnectAsync(options))
                await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d1", 1));

            // The first agent applies d1#1 in a round, takes d1#2 in as pending and is stopped as serve stops.
            var first = await Buses.ConnectAsync(options);
            await using (var stopped = new MetaLearningAgent(first, Config, new MetaStorageManager(new StorageConfig(root))))
            {
                await stopped.StartAsync();
                Assert.Equal(["d1"], await PendingSoon(stopped, first, ["d1"]));
                await stopped.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, Window.DeepClone()), CancellationToken.None);
                Assert.Equal(1, stopped.LastAppliedSequences["d1"]);
                await using (var domains = await Buses.ConnectAsync(options))
                    await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d1", 2));
                Assert.Equal(["d1"], await PendingSoon(stopped, first, ["d1"]));
                await first.ShutdownAsync(TimeSpan.FromSeconds(1.5));
                await stopped.StopAsync();
            }
            await first.DisposeAsync();

            // d1#3 is published before the restart: the restarted agent gets it at once.
            await using (var domains = await Buses.ConnectAsync(options))
                await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d1", 3));
            await using var second = await Buses.ConnectAsync(options);
            await using var agent = new MetaLearningAgent(second, Config, new MetaStorageManager(new StorageConfig(root)));
            await agent.StartAsync();
            for (var waited = 0; agent.Learner.State("d1")!.Observations < 3 && waited < 100; waited++)
            {
                await second.WaitForIdleAsync().WaitAsync(Buses.Patience);
                await Task.Delay(50);
            }
            Assert.Equal(3, agent.Learner.State("d1")!.Observations);
            Assert.Equal(["d1"], agent.PendingDomains);
            await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, Window.DeepClone()), CancellationToken.None);
            Assert.Equal(1, agent.Rounds);
            Assert.Equal(3, agent.LastAppliedSequences["d1"]);
            Assert.Equal(3, agent.Learner.State("d1")!.Observations);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_pending_pack_survives_a_crash_and_is_not_applied_twice()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { AckWait = Buses.CrashAckWait };
        var root = Directory.CreateTempSubdirectory("meta-gpu-redelivery-").FullName;
        try
        {
            await using (var domains = await Buses.ConnectAsync(options))
            {
                await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d1", 1));
                await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d2", 1));
            }

            // The first aggregator takes both in as pending and dies before a round.
            var first = await Buses.ConnectAsync(options);
            var crashed = new MetaLearningAgent(first, Config, new MetaStorageManager(new StorageConfig(root)));
            await crashed.StartAsync();
            await first.WaitForIdleAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(["d1", "d2"], crashed.PendingDomains);
            await first.AbandonAsync();

            // The second gets them again, runs the round, saves, and only then acknowledges.
            await using (var second = await Buses.ConnectAsync(options))
            {
                await using var agent = new MetaLearningAgent(second, Config, new MetaStorageManager(new StorageConfig(root)));
                await agent.StartAsync();
                await second.WaitForIdleAsync().WaitAsync(TimeSpan.FromSeconds(20));
                Assert.Equal(["d1", "d2"], agent.PendingDomains);
                await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}""")), CancellationToken.None);
                Assert.Equal(1, agent.Rounds);
                Assert.Equal(new Dictionary<string, long> { ["d1"] = 1, ["d2"] = 1 }, agent.LastAppliedSequences);
            }

            // The third finds nothing left on the broker; an older copy sent again is ignored.
            await using var third = await Buses.ConnectAsync(options);
            await using var resumed = new MetaLearningAgent(third, Config, new MetaStorageManager(new StorageConfig(root)));
            await resumed.StartAsync();
            await third.WaitForIdleAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Empty(resumed.PendingDomains);
            Assert.Equal(0, resumed.StalePacks);
            // (The same domain_id:sequence again would be dropped by the broker's dedupe window; an older one gets
            // through and must be ignored by the agent.)
            await using (var domains = await Buses.ConnectAsync(options))
                await domains.PublishAsync(LearningTopics.PolicyPack, Pack("d1", 0));
            for (var waited = 0; resumed.StalePacks == 0 && waited < 200; waited++) await Task.Delay(50);
            Assert.Empty(resumed.PendingDomains);
            Assert.Equal(1, resumed.StalePacks);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
