using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>DESIGN §10: a policy pack's optional sequence makes redelivery harmless; the last applied sequences are
/// saved atomically with the prior; a durable delivery is acknowledged only after that save.</summary>
public sealed class PolicyPackSequenceTests : IAsyncLifetime
{
    /// <summary>Records saves into a shared log (to order them against acknowledgements).</summary>
    private sealed class LoggingStore(List<string> log) : IPriorStore
    {
        public InMemoryPriorStore Inner { get; } = new();

        /// <summary>Saves throw an I/O error (a full disk) while set.</summary>
        public bool Fail { get; set; }

        public void SavePrior(IReadOnlyDictionary<string, double> prior)
        {
            lock (log) log.Add("save");
            Inner.SavePrior(prior);
        }

        public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences)
        {
            if (Fail)
            {
                lock (log) log.Add("save FAILED");
                throw new IOException("no space left on device");
            }
            lock (log) log.Add("save " + string.Join(",", lastSequences.Select(p => $"{p.Key}={p.Value}")));
            Inner.SavePrior(prior, lastSequences);
        }

        public IReadOnlyDictionary<string, double>? LoadPrior() => Inner.LoadPrior();

        public SavedPrior? LoadPriorWithSequences() => Inner.LoadPriorWithSequences();

        /// <summary>Measuring the store throws while set (a file vanished while the root was walked).</summary>
        public bool FailSize { get; set; }

        public long SizeBytes() => FailSize ? throw new FileNotFoundException("a temp file vanished") : 0;
    }

    private static readonly MetaLearningConfig Config = AgentTestConfig.EveryWindow;

    private readonly EventBus _bus = new();
    private readonly List<string> _log = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _bus.DisposeAsync();

    /// <summary>A pack; a NaN <paramref name="tau"/> sends no parameters at all (its round's aggregate is empty).</summary>
    private static BusEvent PackEvent(string domain, double tau, long? sequence) => new(LearningTopics.PolicyPack, JsonNode.Parse(double.IsNaN(tau)
        ? $$$"""{"domain_id": "{{{domain}}}", {{{(sequence is { } s0 ? $"\"sequence\": {s0}," : "")}}} "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {}, "evaluator": {}}"""
        : $$$"""{"domain_id": "{{{domain}}}", {{{(sequence is { } s ? $"\"sequence\": {s}," : "")}}} "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": {{{tau}}}}, "evaluator": {"g_min": 0.01}}"""));

    private static readonly BusEvent WindowEvent = new(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}"""));

    private static ValueTask Pack(MetaLearningAgent agent, string domain, double tau, long? sequence) =>
        agent.HandleAsync(PackEvent(domain, tau, sequence), CancellationToken.None);

    private static ValueTask Window(MetaLearningAgent agent) => agent.HandleAsync(WindowEvent, CancellationToken.None);

    /// <summary>Handles the pack as a durable bus would: with an acknowledgement the handler may defer. Returns
    /// whether the handler deferred it.</summary>
    private Task<bool> DurablePack(MetaLearningAgent agent, string domain, double tau, long? sequence) =>
        Durable($"ack {domain}#{sequence}", async () => await Pack(agent, domain, tau, sequence));

    private Task<bool> DurableEvent(MetaLearningAgent agent, string name, BusEvent busEvent) =>
        Durable(name, async () => await agent.HandleAsync(busEvent, CancellationToken.None));

    private async Task<bool> Durable(string name, Func<Task> handle)
    {
        var acknowledgement = new DeferrableAcknowledgement(() =>
        {
            lock (_log) _log.Add(name);
            return ValueTask.CompletedTask;
        });
        DeliveryAcknowledgement.Current = acknowledgement;
        try
        {
            await handle();
        }
        finally
        {
            DeliveryAcknowledgement.Current = null;
        }
        // What the bus does when the handler returns without deferring.
        if (!acknowledgement.Deferred) await acknowledgement.AcknowledgeAsync();
        return acknowledgement.Deferred;
    }

    private async Task<MetaLearningAgent> Started(IPriorStore store)
    {
        var agent = new MetaLearningAgent(_bus, Config, store);
        await agent.StartAsync();
        return agent;
    }

    [Fact]
    public async Task A_replayed_pack_is_ignored_and_counted()
    {
        await using var agent = await Started(new InMemoryPriorStore());
        await Pack(agent, "a", tau: 0.8, sequence: 3);
        await Window(agent);
        Assert.Equal(0.8, agent.GlobalPrior["tau"], 6);
        Assert.Equal(3, agent.LastAppliedSequences["a"]);

        await Pack(agent, "a", tau: 5.0, sequence: 3);
        Assert.Empty(agent.PendingDomains);
        Assert.Equal(1, agent.StalePacks);
        await Window(agent);
        Assert.Equal(1, agent.Rounds);
        Assert.Equal(0.8, agent.GlobalPrior["tau"], 6);
    }

    [Fact]
    public async Task An_older_pack_does_not_replace_the_pending_one()
    {
        await using var agent = await Started(new InMemoryPriorStore());
        await Pack(agent, "a", tau: 0.8, sequence: 7);
        await Pack(agent, "a", tau: 5.0, sequence: 6);
        Assert.Equal(1, agent.StalePacks);
        await Pack(agent, "a", tau: 1.2, sequence: 8);
        Assert.Equal(1, agent.StalePacks);
        await Window(agent);
        Assert.Equal(1.2, agent.GlobalPrior["tau"], 6);
        Assert.Equal(8, agent.LastAppliedSequences["a"]);
    }

    [Fact]
    public async Task Sequences_are_per_domain()
    {
        await using var agent = await Started(new InMemoryPriorStore());
        await Pack(agent, "a", tau: 0.8, sequence: 9);
        await Pack(agent, "b", tau: 1.0, sequence: 1);
        Assert.Equal(["a", "b"], agent.PendingDomains);
        Assert.Equal(0, agent.StalePacks);
    }

    [Fact]
    public async Task Packs_without_sequence_behave_as_before()
    {
        await using var agent = await Started(new InMemoryPriorStore());
        await Pack(agent, "a", tau: 0.8, sequence: null);
        await Window(agent);
        await Pack(agent, "a", tau: 0.8, sequence: null);
        Assert.Equal(["a"], agent.PendingDomains);
        await Window(agent);
        Assert.Equal(2, agent.Rounds);
        Assert.Equal(0, agent.StalePacks);
        Assert.Empty(agent.LastAppliedSequences);
    }

    [Fact]
    public async Task A_malformed_sequence_is_refused_naming_the_field()
    {
        await using var agent = await Started(new InMemoryPriorStore());
        var e = await Assert.ThrowsAsync<InvalidInputException>(async () => await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "a", "sequence": -1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 0.8}, "evaluator": {}}""")), CancellationToken.None));
        Assert.Contains("sequence", e.Message, StringComparison.Ordinal);
        Assert.Empty(agent.PendingDomains);
    }

    [Fact]
    public async Task Sequences_survive_a_restart_from_storage_and_a_redelivered_old_pack_is_ignored()
    {
        using var folder = new TempFolder();
        await using (var agent = new MetaLearningAgent(_bus, Config, new MetaStorageManager(new StorageConfig(folder.Path))))
        {
            await agent.StartAsync();
            await Pack(agent, "a", tau: 0.8, sequence: 4);
            await Pack(agent, "b", tau: 1.0, sequence: 2);
            await Window(agent);
        }

        var saved = new MetaStorageManager(new StorageConfig(folder.Path)).LoadPriorWithSequences()!;
        Assert.Equal(new Dictionary<string, long> { ["a"] = 4, ["b"] = 2 }, saved.LastSequences);
        // Older loads read the same file: the prior alone.
        Assert.Equal(saved.Prior, new MetaStorageManager(new StorageConfig(folder.Path)).LoadPrior());

        await using var resumed = new MetaLearningAgent(_bus, Config, new MetaStorageManager(new StorageConfig(folder.Path)));
        await resumed.StartAsync();
        Assert.Equal(4, resumed.LastAppliedSequences["a"]);
        await Pack(resumed, "a", tau: 5.0, sequence: 4);
        Assert.Empty(resumed.PendingDomains);
        Assert.Equal(1, resumed.StalePacks);
        await Pack(resumed, "a", tau: 0.9, sequence: 5);
        Assert.Equal(["a"], resumed.PendingDomains);
    }

    [Fact]
    public async Task A_deferred_acknowledgement_is_given_only_after_the_save_of_the_round_that_applied_it()
    {
        var store = new LoggingStore(_log);
        await using var agent = await Started(store);
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        Assert.Empty(_log);

        await Window(agent);
        Assert.Equal(["save a=1", "ack a#1"], _log);
    }

    [Fact]
    public async Task A_superseded_pack_and_a_stale_one_newer_than_the_applied_are_held_with_the_pending_pack()
    {
        // The superseded pack moved the learner: acknowledged once the save that covers its observation is made.
        // A stale pack newer than the applied one may be a copy of such a pack (or of one refused meanwhile).
        var store = new LoggingStore(_log);
        await using var agent = await Started(store);
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 2));
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1)); // stale
        Assert.True(await DurablePack(agent, "a", tau: 0.9, sequence: 3)); // supersedes #2
        Assert.Empty(_log);

        await Window(agent);
        Assert.Equal(["save a=3", "ack a#3", "ack a#2", "ack a#1"], _log);
        Assert.False(await DurablePack(agent, "a", tau: 0.8, sequence: 2)); // older than the applied one: at once
        Assert.Equal("ack a#2", _log[^1]);
    }

    [Fact]
    public async Task A_pack_refused_with_none_pending_is_held_until_a_round_with_nothing_to_apply_saves_its_observation()
    {
        var store = new LoggingStore(_log);
        await using var agent = await Started(store);
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        await Window(agent);
        Assert.Equal(["save a=1", "ack a#1"], _log);

        var jump = new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "a", "sequence": 2, "metrics": {"gain_p50": 5.0, "stability_avg": 0.9}, "controller": {"tau": 5.0}, "evaluator": {"g_min": 0.01}}"""));
        Assert.True(await DurableEvent(agent, "ack a#2", jump)); // score_delta 4.5 > max_score_delta: refused
        Assert.True(await DurableEvent(agent, "ack a#2 copy", jump)); // the broker's copy: held with it
        Assert.Equal(2, _log.Count);
        await Window(agent);
        // The prior as it was, saved with the learner that observed #2, then the acknowledgements.
        Assert.Equal(["save a=1", "ack a#1", "save a=1", "ack a#2", "ack a#2 copy"], _log);
        Assert.Equal(1, agent.Rounds);
        await Window(agent); // nothing changed since: no save
        Assert.Equal(5, _log.Count);
    }

    [Fact]
    public async Task A_redelivered_copy_of_a_pending_pack_is_held_until_the_save()
    {
        // The broker redelivers a message whose ack wait ran out before the round; acknowledging the copy would
        // acknowledge the message before anything was saved.
        var store = new LoggingStore(_log);
        await using var agent = await Started(store);
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        Assert.Empty(_log);
        Assert.Equal(1, agent.StalePacks);

        await Window(agent);
        Assert.Equal(["save a=1", "ack a#1", "ack a#1"], _log);
    }

    [Fact]
    public async Task A_redelivered_copy_of_a_refused_pack_is_ignored_and_acknowledged_at_once()
    {
        // The copy must change nothing the first delivery did not: observed a second time, its score_delta would be
        // 0 and its confidence higher, and it would pass where the original was refused.
        await using var agent = await Started(new LoggingStore(_log));
        await Pack(agent, "a", tau: 0.8, sequence: 1);
        await Window(agent);
        var jump = new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "a", "sequence": 2, "metrics": {"gain_p50": 5.0, "stability_avg": 0.9}, "controller": {"tau": 5.0}, "evaluator": {"g_min": 0.01}}"""));
        await agent.HandleAsync(jump, CancellationToken.None); // score_delta 4.5 > max_score_delta 1.0: refused
        Assert.Empty(agent.PendingDomains);

        await agent.HandleAsync(jump, CancellationToken.None);
        Assert.Empty(agent.PendingDomains);
        Assert.Equal(1, agent.StalePacks);
        Assert.Equal(2, agent.Learner.State("a")!.Observations);
        await Window(agent);
        Assert.Equal(0.8, agent.GlobalPrior["tau"], 6);
        Assert.Equal(1, agent.LastAppliedSequences["a"]);
    }

    [Fact]
    public async Task A_copy_of_a_first_pack_refused_for_low_confidence_stays_refused()
    {
        // §7: at the default validator a domain's first pack is refused (confidence <= 0.1); its copy is no second
        // observation that would earn the trust the first one lacked.
        var agent = new MetaLearningAgent(_bus, Config with { Validator = ValidatorConfig.Default }, new LoggingStore(_log));
        await using var _ = agent;
        await agent.StartAsync();
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        Assert.Empty(agent.PendingDomains);
        Assert.Equal(1, agent.Learner.State("a")!.Observations);
        // Both held (the observation is not saved yet) until the clean stop saves the learner.
        Assert.Empty(_log);
        await agent.StopAsync();
        Assert.Equal(["save ", "ack a#1", "ack a#1"], _log);
    }

    [Fact]
    public async Task A_store_that_cannot_be_measured_after_a_save_still_counts_the_save()
    {
        // The size is measured after the save for meta_storage_mb; a failure there marked the committed save as
        // failed, and its acknowledgements were held.
        var store = new LoggingStore(_log) { FailSize = true };
        await using var agent = await Started(store);
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        await Window(agent);
        Assert.Equal(["save a=1", "ack a#1"], _log);
    }

    [Fact]
    public async Task A_copy_of_an_applied_pack_whose_save_failed_waits_for_the_next_save()
    {
        var store = new LoggingStore(_log) { Fail = true };
        await using var agent = await Started(store);
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        await Window(agent);
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        Assert.False(await DurablePack(agent, "a", tau: 0.8, sequence: 0)); // older than the applied one: nothing to keep
        Assert.Equal(["save FAILED", "ack a#0"], _log);

        store.Fail = false;
        Assert.True(await DurablePack(agent, "b", tau: 0.9, sequence: 1));
        await Window(agent);
        Assert.Equal(["save FAILED", "ack a#0", "save a=1,b=1", "ack a#1", "ack a#1", "ack b#1"], _log);
    }

    [Fact]
    public async Task Acknowledgements_held_after_a_failed_save_are_given_only_after_a_save()
    {
        var store = new LoggingStore(_log) { Fail = true };
        await using var agent = await Started(store);
        Assert.True(await DurablePack(agent, "a", tau: 0.8, sequence: 1));
        await Window(agent);
        // A round with an empty aggregate and no sequence needs no save of its own, but a#1 still waits for one.
        Assert.True(await DurablePack(agent, "b", tau: double.NaN, sequence: null));
        await Window(agent);
        Assert.Equal(["save FAILED", "save FAILED"], _log);

        store.Fail = false;
        Assert.True(await DurablePack(agent, "c", tau: double.NaN, sequence: null));
        await Window(agent);
        Assert.Equal(["save FAILED", "save FAILED", "save a=1", "ack a#1", "ack b#", "ack c#"], _log);
    }

    [Fact]
    public async Task In_process_nothing_is_deferred()
    {
        var store = new LoggingStore(_log);
        await using var agent = await Started(store);
        Assert.Null(DeliveryAcknowledgement.Defer());
        await Pack(agent, "a", tau: 0.8, sequence: 1);
        await Window(agent);
        Assert.Equal(["save a=1"], _log);
    }

    [Fact]
    public void A_corrupt_sequences_section_is_detected_and_the_backup_is_loaded()
    {
        using var folder = new TempFolder();
        var storage = new MetaStorageManager(new StorageConfig(folder.Path));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 0.8 }, new Dictionary<string, long> { ["a"] = 12 });
        var text = File.ReadAllText(storage.PriorPath);
        Assert.Contains("\"last_sequences\"", text, StringComparison.Ordinal);
        File.WriteAllText(storage.PriorPath, text.Replace("\"a\": 12", "\"a\": 1", StringComparison.Ordinal));

        var loaded = new MetaStorageManager(new StorageConfig(folder.Path)).LoadPriorWithSequences()!;
        Assert.Equal(12, loaded.LastSequences["a"]);
        Assert.Equal(0.8, loaded.Prior["tau"]);
    }

    [Fact]
    public void A_prior_saved_without_sequences_loads_with_none()
    {
        using var folder = new TempFolder();
        var storage = new MetaStorageManager(new StorageConfig(folder.Path));
        storage.SavePrior(new Dictionary<string, double> { ["tau"] = 0.8 });
        Assert.DoesNotContain("last_sequences", File.ReadAllText(storage.PriorPath), StringComparison.Ordinal);
        var loaded = storage.LoadPriorWithSequences()!;
        Assert.Empty(loaded.LastSequences);
        Assert.Equal(0.8, loaded.Prior["tau"]);
    }

    [Theory]
    [InlineData("""{"domain_id": "a", "metrics": {"gain_p50": 0.5}, "controller": {"tau": true}, "evaluator": {}}""", "controller.tau: expected a number, got true")]
    [InlineData("""{"domain_id": "a", "metrics": {"gain_p50": 0.5}, "controller": {}, "evaluator": {"g_min": "0.01"}}""", "evaluator.g_min: expected a number, got \"0.01\"")]
    [InlineData("""{"domain_id": "a", "metrics": {"gain_p50": "0.5"}, "controller": {"tau": 0.8}, "evaluator": {}}""", "metrics.gain_p50: expected a number, got \"0.5\"")]
    public async Task A_pack_whose_parameter_or_metric_is_a_boolean_or_numeric_string_is_refused_naming_it(string json, string message)
    {
        // {"tau": true} became tau = 1.0 and "0.01" a number, where a dense update's vector refuses them.
        await using var agent = await Started(new InMemoryPriorStore());
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(json)), CancellationToken.None).AsTask());
        Assert.EndsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Empty(agent.PendingDomains);
    }

    [Fact]
    public async Task A_first_pack_with_sequence_zero_is_taken_and_its_copy_is_stale()
    {
        // 0 is a sequence like any other (a whole number from 0): a domain's first pack is newer than nothing.
        await using var agent = await Started(new InMemoryPriorStore());
        await Pack(agent, "a", tau: 0.8, sequence: 0);
        Assert.Equal(["a"], agent.PendingDomains);
        Assert.Equal(0, agent.StalePacks);
        await Window(agent);
        Assert.Equal(0, agent.LastAppliedSequences["a"]);
        Assert.Equal(0.8, agent.GlobalPrior["tau"], 6);

        await Pack(agent, "a", tau: 5.0, sequence: 0);
        Assert.Empty(agent.PendingDomains);
        Assert.Equal(1, agent.StalePacks);
    }
}
