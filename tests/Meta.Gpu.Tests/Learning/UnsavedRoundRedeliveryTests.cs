using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>DESIGN §10: a message is acknowledged to the broker only after the save that holds it. When two rounds in
/// a row fail to save, a broker's copy of an update the first of them applied is not newer than the domain's applied
/// sequence (the second round's), but it is no more saved than that one: acknowledging it at once removes the
/// message, and an aggregator killed before the next save never gets it back (the restart over the same storage
/// starts from the prior before both rounds).</summary>
public sealed class UnsavedRoundRedeliveryTests : IDisposable
{
    private const int D = 8;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>A work-queue stream in miniature: every message stays until one of its deliveries is acknowledged.</summary>
    private sealed class Broker
    {
        private readonly SortedDictionary<long, (BusEvent Event, bool Acknowledged)> _messages = [];

        public void Publish(long sequence, BusEvent busEvent) => _messages[sequence] = (busEvent, false);

        public bool Acknowledged(long sequence) => _messages[sequence].Acknowledged;

        /// <summary>Delivers message <paramref name="sequence"/> (first time or again) as a durable bus does.</summary>
        public async Task Deliver(MetaLearningAgent agent, long sequence)
        {
            var busEvent = _messages[sequence].Event;
            _deliveries.Add((sequence, await DurableDelivery.HandleAsync(() => agent.HandleAsync(busEvent, default))));
        }

        private readonly List<(long Sequence, DurableDelivery Delivery)> _deliveries = [];

        /// <summary>Marks the messages one of whose deliveries was acknowledged (at once or later).</summary>
        public void Settle()
        {
            foreach (var (sequence, delivery) in _deliveries)
                if (delivery.Acknowledged) _messages[sequence] = (_messages[sequence].Event, true);
        }

        /// <summary>The messages a restarted consumer gets again: the unacknowledged ones, in stream order.</summary>
        public IReadOnlyList<long> Unacknowledged()
        {
            Settle();
            return [.. _messages.Where(m => !m.Value.Acknowledged).Select(m => m.Key)];
        }
    }

    private static readonly BusEvent WindowEvent = new(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}"""));

    private static BusEvent Pack(long sequence, double gain, double tau) => new(LearningTopics.PolicyPack, JsonNode.Parse(
        $$$"""{"domain_id": "a", "sequence": {{{sequence}}}, "metrics": {"gain_p50": {{{gain}}}, "stability_avg": 0.9}, "controller": {"tau": {{{tau}}}}, "evaluator": {}}"""));

    private static BusEvent Dense(long sequence, double gain) => new(LearningTopics.DenseUpdate,
        new DenseUpdate("a", sequence, 0.8, new DomainMetrics(GainP50: gain), Enumerable.Repeat((float)sequence, D).ToArray()));

    private MetaStorageManager Storage() => new(new StorageConfig(_folder.Path));

    /// <summary>Two rounds whose saves fail, the first's update redelivered after them, a kill, a restart over the
    /// same (mended) storage that gets what the broker still holds, and a round. The second update's score is more
    /// than max_score_delta (1.0) above nothing: it passes only when observed after the first, as it was.</summary>
    private async Task<(Broker Broker, MetaLearningAgent Restarted)> CrashAfterTwoFailedSaves(Func<long, BusEvent> message, string blockedFile)
    {
        var broker = new Broker();
        broker.Publish(1, message(1));
        broker.Publish(2, message(2));

        // A folder where the file goes makes every save of it fail (an I/O error, logged).
        Directory.CreateDirectory(blockedFile);
        var crashed = new MetaLearningAgent(new EventBus(), AgentTestConfig.EveryWindow, Storage());
        await crashed.StartAsync();
        await broker.Deliver(crashed, 1);
        await crashed.HandleAsync(WindowEvent, default);
        await broker.Deliver(crashed, 2);
        await crashed.HandleAsync(WindowEvent, default);
        // The ack wait of #1 ran out while the saves failed: the broker delivers it again.
        await broker.Deliver(crashed, 1);
        broker.Settle();
        Assert.False(broker.Acknowledged(1), "#1 was acknowledged though no save holds the round that applied it");
        // Killed here: the agent is abandoned, nothing it held is given.
        Directory.Delete(blockedFile);

        var restarted = new MetaLearningAgent(new EventBus(), AgentTestConfig.EveryWindow, Storage());
        await restarted.StartAsync();
        foreach (var sequence in broker.Unacknowledged()) await broker.Deliver(restarted, sequence);
        await restarted.HandleAsync(WindowEvent, default);
        return (broker, restarted);
    }

    [Fact]
    public async Task A_copy_of_a_pack_applied_by_an_earlier_unsaved_round_is_held_so_that_a_crash_loses_nothing()
    {
        var (broker, restarted) = await CrashAfterTwoFailedSaves(s => Pack(s, gain: s == 1 ? 0.5 : 1.4, tau: s), Storage().PriorPath);
        await using var _ = restarted;

        Assert.Equal(2, restarted.LastAppliedSequences["a"]);
        Assert.True(restarted.GlobalPrior.ContainsKey("tau"), "the restarted agent never applied a pack: #1 was acknowledged unsaved, and #2 alone was refused");
        Assert.Empty(broker.Unacknowledged());
    }

    [Fact]
    public async Task A_copy_of_a_dense_update_applied_by_an_earlier_unsaved_round_is_held_so_that_a_crash_loses_nothing()
    {
        var (broker, restarted) = await CrashAfterTwoFailedSaves(s => Dense(s, gain: s == 1 ? 0.5 : 1.4), Storage().DensePriorPath);
        await using var _ = restarted;

        Assert.Equal(1, restarted.Dense.Round);
        Assert.Equal(2, restarted.Dense.LastAppliedSequences["a"]);
        Assert.Empty(broker.Unacknowledged());
    }

}
