using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Tests.Learning;

/// <summary>DESIGN §10 for the dense lane: on a durable bus a dense update is acknowledged to the broker only after
/// the dense prior and the last applied sequences are saved, so an aggregator crash before that save loses
/// nothing (the broker redelivers).</summary>
public sealed class DenseLaneAcknowledgementTests : IAsyncDisposable
{
    private const int D = 24;

    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("dense-ack-").FullName;
    private readonly EventBus _bus = new();
    private readonly List<string> _log = [];

    public async ValueTask DisposeAsync()
    {
        await _bus.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private MetaStorageManager Storage() => new(new StorageConfig(_dir));

    private static float[] Vector(int domain) =>
        Enumerable.Range(0, D).Select(c => (float)(Math.Cos(c * 0.3 + domain) + 0.01 * domain)).ToArray();

    /// <summary>Delivers the update as a durable bus would; the acknowledgement records what the saved dense prior
    /// held for the domain at the moment it was given. Returns whether the handler deferred it (a refused update's
    /// acknowledgement may be deferred and given before the handler returns).</summary>
    private async Task<bool> DurableUpdate(MetaLearningAgent agent, string domain, long sequence, float[]? vector = null)
    {
        var acknowledgement = new DeferrableAcknowledgement(() =>
        {
            var saved = Storage().LoadDensePrior();
            var savedSequence = saved is not null && saved.LastSequences.TryGetValue(domain, out var s) ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
            lock (_log) _log.Add($"ack {domain}#{sequence} (saved {savedSequence})");
            return ValueTask.CompletedTask;
        });
        DeliveryAcknowledgement.Current = acknowledgement;
        try
        {
            await agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate,
                new DenseUpdate(domain, sequence, 0.8, new DomainMetrics(GainP50: 0.5), vector ?? Vector(domain.Length))), default);
        }
        finally
        {
            DeliveryAcknowledgement.Current = null;
        }
        if (!acknowledgement.Deferred) await acknowledgement.AcknowledgeAsync();
        return acknowledgement.Deferred;
    }

    private static async Task Window(MetaLearningAgent agent) =>
        await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 50}""")), default);

    private async Task<MetaLearningAgent> Started()
    {
        var agent = new MetaLearningAgent(_bus, Config, Storage());
        await agent.StartAsync();
        return agent;
    }

    [Fact]
    public async Task An_accepted_update_is_acknowledged_only_after_the_round_saved_its_sequence()
    {
        await using var agent = await Started();
        Assert.True(await DurableUpdate(agent, "a", 1));
        Assert.True(await DurableUpdate(agent, "bb", 7));
        Assert.Empty(_log);

        await Window(agent);
        Assert.Equal(1, agent.Dense.Round);
        Assert.Equal(["ack a#1 (saved 1)", "ack bb#7 (saved 7)"], _log);
    }

    [Fact]
    public async Task Stale_refused_and_superseded_updates_are_acknowledged_at_once()
    {
        await using var agent = await Started();
        Assert.True(await DurableUpdate(agent, "a", 2));
        await DurableUpdate(agent, "a", 1); // not newer than the pending one
        await DurableUpdate(agent, "a", 3, new float[D + 1]); // D mismatch: refused
        Assert.Equal(["ack a#1 (saved none)", "ack a#3 (saved none)"], _log);
        Assert.True(await DurableUpdate(agent, "a", 4)); // supersedes #2
        Assert.Equal(["ack a#1 (saved none)", "ack a#3 (saved none)", "ack a#2 (saved none)"], _log);

        await Window(agent);
        Assert.Equal("ack a#4 (saved 4)", _log[^1]);
        Assert.Equal(4, _log.Count);
    }

    [Fact]
    public async Task After_a_failed_save_the_acknowledgements_wait_for_the_next_successful_one()
    {
        await using var agent = await Started();
        // A folder where the dense prior file goes makes the save fail (an I/O error, logged by the lane).
        Directory.CreateDirectory(Storage().DensePriorPath);
        Assert.True(await DurableUpdate(agent, "a", 1));
        await Window(agent);
        Assert.Equal(1, agent.Dense.Round);
        Assert.Empty(_log);

        Directory.Delete(Storage().DensePriorPath);
        Assert.True(await DurableUpdate(agent, "b", 1));
        await Window(agent);
        Assert.Equal(["ack a#1 (saved 1)", "ack b#1 (saved 1)"], _log);
    }

    [Fact]
    public async Task In_process_nothing_is_deferred_and_the_lane_holds_no_acknowledgement()
    {
        await using var agent = await Started();
        await agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate,
            new DenseUpdate("a", 1, 0.8, new DomainMetrics(GainP50: 0.5), Vector(1))), default);
        await Window(agent);
        Assert.Equal(1, agent.Dense.Round);
        Assert.Empty(agent.Dense.TakeReleasedAcknowledgements());
    }
}
