using System.Text.Json.Nodes;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// Found by a soak: while the agent held a pending update's acknowledgement (no <c>processing_metrics</c> window
/// had fired a round), the broker delivered the update again every ack wait, and the lane held every copy with the
/// original, each keeping its whole message: memory grew by one vector (1.5 MB for an 800 KB update) per ack wait
/// per pending domain until the next round. (A process that dies stops telling the broker it still works on them:
/// <see cref="DurableDeliveryTests"/> and <see cref="AgentRedeliveryTests"/> check they come back then.)
/// </summary>
public sealed class HeldDeliveryTests
{
    [Fact]
    public async Task Pending_work_the_agent_holds_is_not_delivered_again_while_it_waits_for_a_round()
    {
        await using var server = await NatsServer.StartAsync();
        // Progress goes every half ack wait: 2 s leaves a loaded machine a second of slack.
        var options = Buses.Options(server) with { AckWait = TimeSpan.FromSeconds(2) };
        await using var aggregator = await Buses.ConnectAsync(options);
        await using var agent = new MetaLearningAgent(aggregator, MetaLearningConfig.Default with { Validator = new ValidatorConfig(MinConfidence: 0.05) });
        await agent.StartAsync();
        await aggregator.WhenSubscribedAsync();

        const int d = 200_000; // an 800 KB inline message
        await using (var domain = await Buses.ConnectAsync(options))
        {
            var update = Buses.DenseUpdate("site-1", 1, 0.25f, d);
            update["confidence"] = 0.9;
            update["metrics"] = new JsonObject { ["meta_score"] = 0.5, ["stability_avg"] = 0.9 };
            await domain.PublishAsync(LearningTopics.DenseUpdate, update);
            var pack = new JsonObject
            {
                ["domain_id"] = "site-2",
                ["sequence"] = 1,
                ["metrics"] = new JsonObject { ["gain_p50"] = 0.5, ["stability_avg"] = 0.9 },
                ["controller"] = new JsonObject { ["tau"] = 1.0 },
            };
            await domain.PublishAsync(LearningTopics.PolicyPack, pack);
        }
        for (var waited = 0; (agent.Dense.PendingDomains.Count == 0 || agent.PendingDomains.Count == 0) && waited < 600; waited++) await Task.Delay(50);
        Assert.Equal(["site-1"], agent.Dense.PendingDomains);
        Assert.Equal(["site-2"], agent.PendingDomains);

        await Task.Delay(TimeSpan.FromSeconds(7)); // three ack waits and more, no window
        Assert.Equal(0, aggregator.NatsStats.Redelivered);
        Assert.Equal(["site-1"], agent.Dense.PendingDomains);
        Assert.Equal(["site-2"], agent.PendingDomains);
    }
}
