using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
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
    private async Task<bool> DurableUpdate(MetaLearningAgent agent, string domain, long sequence, float[]? vector = null, DomainMetrics? metrics = null)
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
                new DenseUpdate(domain, sequence, 0.8, metrics ?? new DomainMetrics(GainP50: 0.5), vector ?? Vector(domain.Length))), default);
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

    private async Task<MetaLearningAgent> Started(MetaLearningConfig? config = null)
    {
        var agent = new MetaLearningAgent(_bus, config ?? Config, Storage());
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
    public async Task Superseded_and_refused_updates_of_a_pending_domain_are_held_with_it()
    {
        // Each moved the domain's last score: acknowledged by the save that covers it, the round's.
        await using var agent = await Started();
        Assert.True(await DurableUpdate(agent, "a", 2));
        Assert.True(await DurableUpdate(agent, "a", 1)); // not newer than the pending one: may be a copy of a held one
        Assert.True(await DurableUpdate(agent, "a", 3, new float[D + 1])); // D mismatch: refused
        Assert.True(await DurableUpdate(agent, "a", 4)); // supersedes #2
        Assert.Empty(_log);

        await Window(agent);
        Assert.Equal(["ack a#4 (saved 4)", "ack a#2 (saved 4)", "ack a#1 (saved 4)", "ack a#3 (saved 4)"], _log);
        await DurableUpdate(agent, "a", 3); // older than the applied one: at once
        Assert.Equal("ack a#3 (saved 4)", _log[^1]);
    }

    [Fact]
    public async Task An_update_refused_with_none_pending_is_held_until_a_round_saves_it_and_a_stop_saves_too()
    {
        await using var agent = await Started();
        Assert.True(await DurableUpdate(agent, "a", 1));
        await Window(agent);
        Assert.Equal(["ack a#1 (saved 1)"], _log);

        Assert.True(await DurableUpdate(agent, "a", 2, new float[D + 1])); // refused: moved the last score
        Assert.Single(_log);
        await Window(agent); // nothing to step: the lane's state is saved with the prior as it is, then acknowledged
        Assert.Equal("ack a#2 (saved 1)", _log[^1]);
        Assert.Equal(1, agent.Dense.Round);

        Assert.True(await DurableUpdate(agent, "a", 3, new float[D + 1]));
        Assert.Equal(2, _log.Count);
        await agent.StopAsync();
        Assert.Equal("ack a#3 (saved 1)", _log[^1]);
        Assert.Equal(3, Storage().LoadDenseLaneState(Storage().LoadDensePrior()!.Checksum)!.LastScores["a"].Sequence);
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
    public async Task A_redelivered_copy_of_a_pending_update_is_held_until_the_save()
    {
        await using var agent = await Started();
        Assert.True(await DurableUpdate(agent, "a", 1));
        Assert.True(await DurableUpdate(agent, "a", 1)); // the broker's copy after its ack wait
        Assert.Empty(_log);

        await Window(agent);
        Assert.Equal(["ack a#1 (saved 1)", "ack a#1 (saved 1)"], _log);
    }

    [Fact]
    public async Task A_copy_of_an_applied_update_whose_save_failed_waits_for_the_next_save()
    {
        await using var agent = await Started();
        Directory.CreateDirectory(Storage().DensePriorPath);
        Assert.True(await DurableUpdate(agent, "a", 2));
        await Window(agent);
        Assert.True(await DurableUpdate(agent, "a", 2));
        await DurableUpdate(agent, "a", 1); // older than the applied one: acknowledged at once
        Assert.Equal(["ack a#1 (saved none)"], _log);

        Directory.Delete(Storage().DensePriorPath);
        Assert.True(await DurableUpdate(agent, "b", 1));
        await Window(agent);
        Assert.Equal(["ack a#1 (saved none)", "ack a#2 (saved 2)", "ack a#2 (saved 2)", "ack b#1 (saved 1)"], _log);
    }

    /// <summary>The cpu backend, failing on demand as a lost device with no fallback would: in the row scan, or in
    /// the combine after stepping half the prior.</summary>
    private sealed class FailingBackend : IComputeBackend
    {
        private readonly CpuBackend _inner = new();

        public string? FailIn { get; set; }

        public string Name => "failing";

        public void ScanRows(DomainBatch batch, Span<RowScan> result)
        {
            if (FailIn == "scan") throw new InvalidOperationException("device lost");
            _inner.ScanRows(batch, result);
        }

        public void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians) =>
            _inner.ColumnMedians(batch, rows, missingAsZero, medians);

        public void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances) =>
            _inner.RowDistances(batch, rows, missingAsZero, medians, distances);

        public int Combine(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method, double trimAlpha,
            bool missingAsZero, Span<float> aggregate, Span<float> prior, ReptileStep? step)
        {
            if (FailIn == "combine")
            {
                prior[..(prior.Length / 2)].Fill(1e6f);
                throw new InvalidOperationException("device lost");
            }
            return _inner.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);
        }

        public void Dispose() => _inner.Dispose();
    }

    [Theory]
    [InlineData("scan")]
    [InlineData("combine")]
    public async Task A_round_whose_backend_fails_keeps_its_updates_pending_and_the_prior_as_it_was(string failIn)
    {
        using var backend = new FailingBackend();
        await using var agent = new MetaLearningAgent(_bus, Config, Storage(), denseBackend: backend);
        await agent.StartAsync();
        Assert.True(await DurableUpdate(agent, "a", 1));
        await Window(agent);
        var prior = agent.Dense.Optimizer!.Prior.ToArray();
        var beta = agent.Dense.Optimizer.Beta;
        var acknowledged = _log.Count;
        Assert.True(await DurableUpdate(agent, "b", 1));

        backend.FailIn = failIn;
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await Window(agent));

        Assert.Equal(["b"], agent.Dense.PendingDomains);
        Assert.Equal(1, agent.Dense.Round);
        Assert.Equal(prior, agent.Dense.Optimizer.Prior);
        Assert.Equal(beta, agent.Dense.Optimizer.Beta);
        Assert.Equal(acknowledged, _log.Count);

        backend.FailIn = null;
        await Window(agent);
        Assert.Equal(2, agent.Dense.Round);
        Assert.Equal("ack b#1 (saved 1)", _log[^1]);
    }

    [Fact]
    public async Task A_domain_id_too_long_for_the_prior_file_is_refused_and_later_rounds_go_on()
    {
        await using var agent = await Started();
        var huge = new string('x', DensePriorFile.MaxDomainIdBytes + 1);

        await DurableUpdate(agent, huge, 1);
        Assert.Equal([$"ack {huge}#1 (saved none)"], _log);
        Assert.Empty(agent.Dense.PendingDomains);

        Assert.True(await DurableUpdate(agent, "b", 1));
        await Window(agent);
        Assert.Equal(1, agent.Dense.Round);
        Assert.Equal("ack b#1 (saved 1)", _log[^1]);
    }

    [Fact]
    public async Task A_start_that_fails_on_an_unusable_dense_file_can_be_retried()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Storage().DensePriorPath, "not a dense prior");
        var agent = new MetaLearningAgent(_bus, Config, Storage());

        await Assert.ThrowsAsync<InvalidDataException>(() => agent.StartAsync());

        File.Delete(Storage().DensePriorPath);
        await agent.StartAsync();
        Assert.True(await DurableUpdate(agent, "a", 1));
        await Window(agent);
        Assert.Equal(1, agent.Dense.Round);
        await agent.DisposeAsync();
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

    [Fact]
    public async Task A_copy_of_an_applied_and_saved_update_is_acknowledged_at_once_even_with_a_newer_one_pending()
    {
        // Redelivering it would change nothing: its sequence is on disk already.
        await using var agent = await Started();
        Assert.True(await DurableUpdate(agent, "a", 1));
        await Window(agent);
        await DurableUpdate(agent, "a", 1);
        Assert.Equal(["ack a#1 (saved 1)", "ack a#1 (saved 1)"], _log);

        Assert.True(await DurableUpdate(agent, "a", 2));
        await DurableUpdate(agent, "a", 1);
        Assert.Equal(["ack a#1 (saved 1)", "ack a#1 (saved 1)", "ack a#1 (saved 1)"], _log);
    }

    [Fact]
    public async Task A_copy_of_a_refused_update_whose_score_is_saved_is_acknowledged_at_once()
    {
        await using var agent = await Started();
        Assert.True(await DurableUpdate(agent, "a", 1));
        await Window(agent);
        await DurableUpdate(agent, "a", 2, new float[D + 1]); // refused: moved the last score, held
        await Window(agent); // saves the lane's state: acknowledged
        Assert.Equal(["ack a#1 (saved 1)", "ack a#2 (saved 1)"], _log);

        await DurableUpdate(agent, "a", 2, new float[D + 1]); // the broker's copy: refused again, moves nothing
        Assert.Equal(["ack a#1 (saved 1)", "ack a#2 (saved 1)", "ack a#2 (saved 1)"], _log);
    }

    [Fact]
    public async Task An_update_refused_before_any_dense_prior_is_saved_is_acknowledged_at_once_and_creates_no_prior()
    {
        await using var agent = await Started();
        await DurableUpdate(agent, "a", 1, []); // empty vector: refused, D stays open
        Assert.Equal(["ack a#1 (saved none)"], _log);
        Assert.Null(agent.Dense.D);
        await Window(agent);
        Assert.Null(Storage().LoadDensePrior());
    }

    [Fact]
    public async Task An_update_refused_for_a_non_finite_score_is_acknowledged_at_once_even_with_one_pending()
    {
        // Never observed: it moved nothing a save would hold.
        await using var agent = await Started();
        Assert.True(await DurableUpdate(agent, "a", 1));
        await DurableUpdate(agent, "a", 2, metrics: new DomainMetrics(MetaScore: double.NaN));
        Assert.Equal(["ack a#2 (saved none)"], _log);
        Assert.Equal(["a"], agent.Dense.PendingDomains);
    }

    [Fact]
    public async Task After_a_restart_an_update_refused_with_none_pending_waits_for_the_save_of_its_score()
    {
        await using (var first = await Started())
        {
            Assert.True(await DurableUpdate(first, "a", 1));
            await Window(first);
        }
        Assert.Equal(["ack a#1 (saved 1)"], _log);

        await using var agent = await Started();
        await DurableUpdate(agent, "a", 2, new float[D + 1]); // refused: moved the last score the loaded prior's state holds
        Assert.Single(_log);
        await Window(agent);
        Assert.Equal(["ack a#1 (saved 1)", "ack a#2 (saved 1)"], _log);
        Assert.Equal(2, Storage().LoadDenseLaneState(Storage().LoadDensePrior()!.Checksum)!.LastScores["a"].Sequence);
    }

    [Fact]
    public async Task A_round_where_no_domain_takes_part_saves_the_consumed_sequences_before_acknowledging_them()
    {
        // The aggregator's own min_confidence is above the validator's: the update is pending, then rejected by §4.
        await using var agent = await Started(Config with { Cross = Config.Cross with { MinConfidence = 0.9 } });
        Assert.True(await DurableUpdate(agent, "a", 3));
        Assert.Empty(_log);
        await Window(agent);
        Assert.Equal(0, agent.Dense.Round);
        Assert.Empty(agent.Dense.PendingDomains);
        Assert.Equal(["ack a#3 (saved 3)"], _log);
    }
}
