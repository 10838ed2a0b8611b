using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

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
            await domain.PublishAsync(LearningTopics.PolicyPack, Buses.PolicyPack("site-2", 1));
        }
        for (var waited = 0; (agent.Dense.PendingDomains.Count == 0 || agent.PendingDomains.Count == 0) && waited < 600; waited++) await Task.Delay(50);
        Assert.Equal(["site-1"], agent.Dense.PendingDomains);
        Assert.Equal(["site-2"], agent.PendingDomains);

        await Task.Delay(TimeSpan.FromSeconds(7)); // three ack waits and more, no window
        Assert.Equal(0, aggregator.NatsStats.Redelivered);
        Assert.Equal(["site-1"], agent.Dense.PendingDomains);
        Assert.Equal(["site-2"], agent.PendingDomains);
    }

    private const string Topic = LearningTopics.PolicyPack;

    /// <summary>An agent stopped on a bus that goes on (another subscriber of the topic keeps the feed) leaves its
    /// pending packs unacknowledged, for the broker to deliver again to whoever consumes next; the feed told the
    /// broker they were in progress for as long as it ran, so a new agent on the bus never got them (review).</summary>
    [Fact]
    public async Task Work_a_stopped_agent_held_is_delivered_again_to_its_successor_on_the_same_bus()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { AckWait = Buses.CrashAckWait };
        await using var bus = await Buses.ConnectAsync(options);
        var config = MetaLearningConfig.Default with { Validator = new ValidatorConfig(MinConfidence: 0.05) };
        using var bystander = bus.Subscribe(Topic, (_, _) => ValueTask.CompletedTask); // e.g. a recorder
        var first = new MetaLearningAgent(bus, config);
        await first.StartAsync();
        await bus.WhenSubscribedAsync();
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(Topic, Buses.PolicyPack("d1", 1));
        for (var waited = 0; first.PendingDomains.Count == 0 && waited < 400; waited++) await Task.Delay(50);
        Assert.Equal(["d1"], first.PendingDomains);
        await first.StopAsync(); // d1 never acknowledged: its round never ran

        await using var second = new MetaLearningAgent(bus, config);
        await second.StartAsync();
        for (var waited = 0; second.PendingDomains.Count == 0 && waited < 200; waited++) await Task.Delay(50); // 10 s: ten ack waits
        Assert.Equal(["d1"], second.PendingDomains);
    }

    /// <summary>The consumer is shared by the prefix and takes the ack wait of the last process that created it. The
    /// keeping loop asked the broker's wait only while something was held: idle, it slept half this process's
    /// wait, so the first hold after a quiet spell was reported too late (review: 3 redeliveries in 7 s).</summary>
    [Fact]
    public async Task Held_work_is_not_delivered_again_when_the_broker_ack_wait_is_shorter_than_this_process()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { AckWait = TimeSpan.FromSeconds(30) };
        await using var aggregator = await Buses.ConnectAsync(options);
        var held = new List<IDeliveryAcknowledgement>();
        using var subscription = aggregator.Subscribe(Topic, (_, _) =>
        {
            lock (held) held.Add(DeliveryAcknowledgement.Defer()!);
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();
        // Another aggregator of the prefix with a 2 s ack wait comes and goes: the broker's wait is 2 s now.
        await using (var second = await Buses.ConnectAsync(options with { AckWait = TimeSpan.FromSeconds(2) }))
        {
            using (second.Subscribe(Topic, (_, _) => ValueTask.CompletedTask))
                await second.WhenSubscribedAsync();
        }
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(Topic, Buses.PolicyPack("d1", 1));
        for (var waited = 0; held.Count == 0 && waited < 400; waited++) await Task.Delay(50);
        await Task.Delay(TimeSpan.FromSeconds(7)); // three of the broker's ack waits and more
        Assert.Equal(0, aggregator.NatsStats.Redelivered);
        lock (held) Assert.Single(held);
    }
}
