using System.Globalization;
using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// DESIGN §7, §8, §10, and the files kept beside §11's (README "Storage"): the learners' state (every domain's learner, each optimizer's beta and reward EMA, the
/// dense lane's last scores) is saved with the prior it belongs to and restored by an agent that starts over the
/// same storage root, so that after a restart the agent decides as the one that did not restart.
/// </summary>
public sealed class LearnerStateRestartTests : IDisposable
{
    /// <summary>The design's validator (min_confidence 0.1: a domain's first pack is refused), a round every
    /// window, the plain mean.</summary>
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
        Cross = CrossMetaConfig.Compat with { Method = AggregationMethod.Mean },
    };

    private readonly TempFolder _folder = new();
    private readonly RecordingLogger _log = new();

    public void Dispose() => _folder.Dispose();

    private sealed class AgentLogger(ILogger inner) : ILogger<MetaLearningAgent>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }

    private sealed record Step(string Label, Func<MetaLearningAgent, ValueTask> Run, bool RestartAfter = false);

    private static Step Pack(string domain, long sequence, double tau, double gain = 0.5) => new($"pack {domain}#{sequence}", agent =>
        agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(string.Create(CultureInfo.InvariantCulture,
            $$$"""{"domain_id": "{{{domain}}}", "sequence": {{{sequence}}}, "metrics": {"gain_p50": {{{gain}}}, "stability_avg": 0.9}, "controller": {"tau": {{{tau}}}}, "evaluator": {"g_min": 0.01}}"""))), default));

    private static Step Dense(string domain, long sequence, double score, float offset) => new($"dense {domain}#{sequence}", agent =>
        agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate, new DenseUpdate(domain, sequence, 0.8, new DomainMetrics(GainP50: score),
            [0.1f + offset, -0.2f + offset, 0.3f - offset, 0.4f])), default));

    private static Step Window(double reward, bool bandwidthFree = false, bool restartAfter = false) => new($"window {reward}", agent =>
        agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse(string.Create(CultureInfo.InvariantCulture,
            $$"""{"gain_p50": {{reward}}, "latency_ms": 50, "bandwidth_free": {{(bandwidthFree ? "true" : "false")}}}"""))), default), restartAfter);

    private MetaLearningAgent NewAgent(IEventBus bus, string root) =>
        new(bus, Config, new MetaStorageManager(new StorageConfig(root), _log), logger: new AgentLogger(_log));

    /// <summary>What the agent would decide from here: pending updates, every learner, both optimizers, both priors,
    /// and the rollbacks published so far.</summary>
    private static string Describe(MetaLearningAgent agent, int rollbacks, int denseRollbacks)
    {
        static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var learners = string.Join(" ", agent.Learner.Domains.Select(d => $"{d}:{agent.Learner.State(d)}"));
        var prior = string.Join(",", agent.GlobalPrior.Select(p => $"{p.Key}={R(p.Value)}"));
        var dense = agent.Dense.Optimizer is { } o
            ? $"beta={R(o.Beta)} ema={R(o.RewardEma)} prior=[{string.Join(",", o.Prior.Select(v => R(v)))}]"
            : "none";
        return $"pending=[{string.Join(",", agent.PendingDomains)}] learners={learners} beta={R(agent.Optimizer.Beta)} " +
            $"ema={R(agent.Optimizer.RewardEma)} prior={prior} rollbacks={rollbacks} | dense pending=[{string.Join(",", agent.Dense.PendingDomains)}] " +
            $"{dense} round={agent.Dense.Round} rollbacks={denseRollbacks}";
    }

    /// <summary>Runs <paramref name="steps"/> on a fresh root; with <paramref name="restart"/>, a new agent takes
    /// over the root after every step marked so. Returns the description after each step.</summary>
    private async Task<List<string>> Run(IReadOnlyList<Step> steps, bool restart)
    {
        var root = Path.Combine(_folder.Path, (restart ? "restarted-" : "uninterrupted-") + Guid.NewGuid().ToString("N"));
        await using var bus = new EventBus();
        var rollbacks = 0;
        var denseRollbacks = 0;
        using var _ = bus.Subscribe([LearningTopics.MetaRollbackActive, LearningTopics.MetaDensePrior], (e, _) =>
        {
            if (e.Topic == LearningTopics.MetaRollbackActive) Interlocked.Increment(ref rollbacks);
            else if (((JsonObject)e.Payload!)["rolled_back"]!.GetValue<bool>()) Interlocked.Increment(ref denseRollbacks);
            return ValueTask.CompletedTask;
        });
        var trace = new List<string>();
        var agent = NewAgent(bus, root);
        await agent.StartAsync();
        try
        {
            foreach (var step in steps)
            {
                await step.Run(agent);
                await bus.WaitForIdleAsync();
                trace.Add($"{step.Label}: {Describe(agent, rollbacks, denseRollbacks)}");
                if (restart && step.RestartAfter)
                {
                    await agent.StopAsync();
                    agent = NewAgent(bus, root);
                    await agent.StartAsync();
                }
            }
        }
        finally
        {
            await agent.StopAsync();
        }
        return trace;
    }

    private async Task AssertSameDecisions(IReadOnlyList<Step> steps)
    {
        var uninterrupted = await Run(steps, restart: false);
        var restarted = await Run(steps, restart: true);
        for (var i = 0; i < steps.Count; i++) Assert.Equal(uninterrupted[i], restarted[i]);
    }

    [Fact]
    public async Task After_a_restart_a_domain_keeps_its_earned_trust()
    {
        Step[] steps =
        [
            Pack("d1", 1, tau: 1.0), Pack("d2", 1, tau: 2.0),   // confidence 0.09: refused
            Pack("d1", 2, tau: 1.0), Pack("d2", 2, tau: 2.0),   // 0.171: pending
            Window(1.0, restartAfter: true),
            Pack("d1", 3, tau: 1.5), Pack("d2", 3, tau: 2.5),   // 0.2439; a fresh learner: 0.09, refused
            Window(1.0, restartAfter: true),
            Pack("d1", 4, tau: 1.7, gain: 0.6),
            Window(1.0),
        ];
        await AssertSameDecisions(steps);
        // The restarted agent's trace is the uninterrupted one's; it took the packs after the restarts.
        var restarted = await Run(steps, restart: true);
        Assert.StartsWith("pack d2#3: pending=[d1,d2]", restarted[6]);
        Assert.StartsWith("pack d1#4: pending=[d1]", restarted[8]);
        Assert.Empty(_log.AtLeast(LogLevel.Warning));
    }

    [Fact]
    public async Task After_a_restart_a_copy_of_a_refused_pack_is_not_observed_a_second_time()
    {
        var root = Path.Combine(_folder.Path, "observed");
        await using (var bus = new EventBus())
        await using (var first = NewAgent(bus, root))
        {
            await first.StartAsync();
            await Pack("d1", 1, tau: 1.0).Run(first);      // refused (confidence 0.09), acknowledged
            await Pack("d2", 1, tau: 2.0).Run(first);
            await Pack("d2", 2, tau: 2.0).Run(first);
            await Window(1.0).Run(first);                  // the round saves d1's learner with it
        }
        await using var agent = await Restarted(root);
        // The broker delivers d1#1 again (its acknowledgement was lost): a second observation would earn it trust.
        await Pack("d1", 1, tau: 1.0).Run(agent);
        Assert.Equal(1, agent.StalePacks);
        Assert.Equal(1, agent.Learner.State("d1")!.Observations);
        Assert.Empty(agent.PendingDomains);
    }

    [Fact]
    public async Task After_a_restart_the_optimizer_steps_and_rolls_back_as_it_would_have()
    {
        Step[] steps =
        [
            Pack("d1", 1, tau: 1.0), Pack("d1", 2, tau: 1.0),
            Window(1.0, bandwidthFree: true, restartAfter: true),  // beta 0.11, reward EMA 0.3
            Pack("d1", 3, tau: 2.0),
            Window(1.0, bandwidthFree: true, restartAfter: true),  // beta 0.121, EMA 0.51
            Pack("d1", 4, tau: 3.0),
            Window(0.2),  // EMA 0.417 - 0.2 > 0.1: rolled back (a fresh EMA, 0.06, would not)
        ];
        await AssertSameDecisions(steps);
        var restarted = await Run(steps, restart: true);
        Assert.Contains("rollbacks=1 |", restarted[^1]);
        Assert.Contains("beta=0.121", restarted[^1]);
    }

    [Fact]
    public async Task After_a_restart_the_dense_lane_judges_scores_and_rolls_back_as_it_would_have()
    {
        Step[] steps =
        [
            Dense("a", 1, score: 0.8, offset: 0f),
            Window(1.0, bandwidthFree: true, restartAfter: true),
            Dense("a", 2, score: 1.5, offset: 0.5f),  // 1.5 - 0.8 passes max_score_delta; 1.5 - 0 (a fresh lane) does not
            Window(1.0, bandwidthFree: true, restartAfter: true),
            Dense("a", 3, score: 1.6, offset: 1f),
            Window(0.2),  // dense EMA 0.417 - 0.2 > 0.1: rolled back
        ];
        await AssertSameDecisions(steps);
        var restarted = await Run(steps, restart: true);
        Assert.Contains("dense pending=[a]", restarted[2]);
        Assert.EndsWith("rollbacks=1", restarted[^1]);
        Assert.Empty(_log.AtLeast(LogLevel.Warning));
    }

    /// <summary>Two rounds of d1 in one agent; returns the root, the description after the first round and the
    /// bytes of the first round's <c>global_prior.json</c>.</summary>
    private async Task<(string Root, string AfterFirst, byte[] FirstPrior)> TwoRounds()
    {
        var root = Path.Combine(_folder.Path, "two-rounds");
        await using var bus = new EventBus();
        await using var agent = NewAgent(bus, root);
        await agent.StartAsync();
        foreach (var step in new[] { Pack("d1", 1, 1.0), Pack("d1", 2, 1.0), Window(1.0, bandwidthFree: true) }) await step.Run(agent);
        var afterFirst = Describe(agent, 0, 0);
        var firstPrior = File.ReadAllBytes(Path.Combine(root, MetaStorageManager.PriorFileName));
        foreach (var step in new[] { Pack("d1", 3, 2.0), Window(0.8, bandwidthFree: true) }) await step.Run(agent);
        return (root, afterFirst, firstPrior);
    }

    private async Task<MetaLearningAgent> Restarted(string root)
    {
        var agent = NewAgent(new EventBus(), root);
        await agent.StartAsync();
        return agent;
    }

    [Fact]
    public async Task A_truncated_state_file_falls_back_to_its_backup_with_a_warning()
    {
        var (root, _, _) = await TwoRounds();
        var path = Path.Combine(root, MetaStorageManager.LearnerStateFileName);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        await using var agent = await Restarted(root);
        Assert.Equal(3, agent.Learner.State("d1")!.Observations);
        Assert.Equal(0.121, agent.Optimizer.Beta, 12);
        Assert.Contains(_log.AtLeast(LogLevel.Warning), e => e.Message.Contains("learner_state.json is unusable", StringComparison.Ordinal));
        Assert.Contains(_log.AtLeast(LogLevel.Warning), e => e.Message.Contains("learner_state.json loaded from backup", StringComparison.Ordinal));
    }

    [Fact]
    public async Task When_every_copy_of_the_state_is_corrupt_the_agent_starts_with_fresh_learners_and_a_warning()
    {
        var (root, _, _) = await TwoRounds();
        var copies = Directory.GetFiles(Path.Combine(root, MetaStorageManager.BackupsFolderName), "learner_state.*.json")
            .Append(Path.Combine(root, MetaStorageManager.LearnerStateFileName)).ToArray();
        Assert.True(copies.Length >= 3);
        foreach (var copy in copies)
        {
            var bytes = File.ReadAllBytes(copy);
            bytes[bytes.Length / 2] ^= 0x20; // inside the content: the checksum fails
            File.WriteAllBytes(copy, bytes);
        }

        await using var agent = await Restarted(root);
        Assert.Empty(agent.Learner.Domains);
        Assert.Equal(Config.Optimizer.BetaInit, agent.Optimizer.Beta);
        Assert.Equal(1.121, agent.GlobalPrior["tau"], 9); // the prior is kept: 1 + 0.121 (2 - 1)
        Assert.Contains(_log.AtLeast(LogLevel.Warning), e => e.Message.Contains("no usable learner_state.json belongs to the loaded prior", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_crash_between_the_state_and_the_prior_restores_the_state_that_belongs_to_the_prior()
    {
        var (root, afterFirst, firstPrior) = await TwoRounds();
        // The second round's state was written and its prior was not: the first round's prior is the main file.
        File.WriteAllBytes(Path.Combine(root, MetaStorageManager.PriorFileName), firstPrior);

        await using var agent = await Restarted(root);
        Assert.Equal(afterFirst, Describe(agent, 0, 0));
        Assert.Contains(_log.AtLeast(LogLevel.Warning), e => e.Message.Contains("belongs to another prior file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_state_the_learner_refuses_is_logged_and_the_agent_starts_with_fresh_learners()
    {
        var store = new InMemoryPriorStore();
        var bad = new SavedDomainLearner(0.5, 0.5, 0.2, [0.5], new Dictionary<string, double>(), 2, 3);
        store.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 }, new Dictionary<string, long>(),
            new SavedLearnerState(new Dictionary<string, SavedDomainLearner> { ["d1"] = bad, [""] = bad }, new SavedOptimizerState(0.2, 0.4)));

        await using var agent = new MetaLearningAgent(new EventBus(), Config, store, logger: new AgentLogger(_log));
        await agent.StartAsync();
        Assert.Empty(agent.Learner.Domains);
        Assert.Equal(Config.Optimizer.BetaInit, agent.Optimizer.Beta);
        Assert.Equal(1.0, agent.GlobalPrior["tau"]);
        Assert.Contains(_log.AtLeast(LogLevel.Warning), e => e.Message.Contains("learner state was not restored", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_root_written_before_the_state_was_saved_starts_fresh_without_a_warning()
    {
        var (root, _, _) = await TwoRounds();
        File.Delete(Path.Combine(root, MetaStorageManager.LearnerStateFileName));
        foreach (var backup in Directory.GetFiles(Path.Combine(root, MetaStorageManager.BackupsFolderName), "learner_state.*.json")) File.Delete(backup);

        await using var agent = await Restarted(root);
        Assert.Empty(agent.Learner.Domains);
        Assert.Equal(Config.Optimizer.BetaInit, agent.Optimizer.Beta);
        Assert.Equal(0.0, agent.Optimizer.RewardEma);
        Assert.True(agent.GlobalPrior.ContainsKey("tau"));
        Assert.Empty(_log.AtLeast(LogLevel.Warning));
    }

    [Fact]
    public async Task A_corrupt_dense_state_never_stops_the_start_and_the_lane_starts_fresh_with_a_warning()
    {
        var root = Path.Combine(_folder.Path, "dense");
        await using (var bus = new EventBus())
        await using (var first = NewAgent(bus, root))
        {
            await first.StartAsync();
            await Dense("a", 1, 0.8, 0f).Run(first);
            await Window(1.0, bandwidthFree: true).Run(first);
            Assert.Equal(0.11, first.Dense.Optimizer!.Beta, 12);
        }
        var copies = Directory.GetFiles(Path.Combine(root, MetaStorageManager.BackupsFolderName), "dense_lane_state.*.json")
            .Append(Path.Combine(root, MetaStorageManager.DenseLaneStateFileName)).ToArray();
        Assert.Equal(2, copies.Length);
        foreach (var copy in copies) File.WriteAllBytes(copy, File.ReadAllBytes(copy)[..40]);

        await using var agent = await Restarted(root);
        Assert.Equal(1, agent.Dense.Round);
        Assert.Equal(Config.Optimizer.BetaInit, agent.Dense.Optimizer!.Beta);
        Assert.Contains(_log.AtLeast(LogLevel.Warning), e => e.Message.Contains("no usable dense_lane_state.json belongs to the loaded prior", StringComparison.Ordinal));
    }

    // An observation made since the last save (a refused pack; a pending pack superseded by a newer one) is saved by
    // the clean stop, so the restarted agent decides as the uninterrupted one (it was lost when only an applying
    // round saved).
    [Fact]
    public async Task After_a_restart_a_refused_and_acknowledged_pack_still_counts_toward_trust()
    {
        Step[] steps =
        [
            Pack("d1", 1, tau: 1.0) with { RestartAfter = true },   // refused (0.09) and acknowledged
            Pack("d1", 2, tau: 1.0),                                 // 0.171: pending, as in the uninterrupted agent
            Window(1.0),
        ];
        await AssertSameDecisions(steps);
    }

    [Fact]
    public async Task After_a_restart_a_superseded_pack_still_counts_toward_trust()
    {
        Step[] steps =
        [
            Pack("d1", 1, tau: 1.0), Pack("d1", 2, tau: 1.0),
            Window(1.0),                                             // d1#2 applied and saved
            Pack("d1", 3, tau: 1.5),                                 // pending
            Pack("d1", 4, tau: 1.6, gain: 0.6) with { RestartAfter = true },  // supersedes d1#3 (held with it)
            Pack("d1", 4, tau: 1.6, gain: 0.6),                      // the broker redelivers d1#4 (unacknowledged)
            Window(1.0),
        ];
        await AssertSameDecisions(steps);
    }

    // A clean stop saves the pending packs with the learners that observed them (and, on a durable bus,
    // acknowledges them): nothing waits for a redelivery that comes after the ack wait, behind the domain's newer
    // packs. In process nothing is redelivered: the pending pack was lost.
    [Fact]
    public async Task After_a_clean_stop_a_pending_pack_is_applied_as_it_would_have_been()
    {
        Step[] steps =
        [
            Pack("d1", 1, tau: 1.0), Pack("d2", 1, tau: 2.0),                  // refused (0.09)
            Pack("d1", 2, tau: 1.2), Pack("d2", 2, tau: 2.2) with { RestartAfter = true }, // pending
            Window(1.0),
        ];
        await AssertSameDecisions(steps);
        Assert.Empty(_log.AtLeast(LogLevel.Warning));
    }

    [Fact]
    public async Task After_a_clean_stop_a_newer_pack_replaces_the_saved_pending_one_and_the_copy_is_ignored()
    {
        Step[] steps =
        [
            Pack("d1", 1, tau: 1.0), Pack("d1", 2, tau: 1.2) with { RestartAfter = true }, // pending at the stop
            Pack("d1", 3, tau: 1.4, gain: 0.6),                                // before d1#2's redelivery
            Pack("d1", 2, tau: 1.2),                                           // the copy: not newer
            Window(1.0),
        ];
        await AssertSameDecisions(steps);
    }

    [Fact]
    public async Task A_saved_pending_pack_not_newer_than_the_applied_sequence_is_logged_and_the_agent_starts_with_fresh_learners()
    {
        var store = new InMemoryPriorStore();
        var learner = new SavedDomainLearner(0.5, 0.5, 0.2, [0.5], new Dictionary<string, double> { ["tau"] = 1.0 }, 2, 3);
        var pending = new SavedPendingPack(3, ["tau"], [1f], 0.5, 0.2, DateTimeOffset.UnixEpoch, 0);
        store.SavePrior(new Dictionary<string, double> { ["tau"] = 1.0 }, new Dictionary<string, long> { ["d1"] = 3 },
            new SavedLearnerState(new Dictionary<string, SavedDomainLearner> { ["d1"] = learner }, new SavedOptimizerState(0.2, 0.4),
                new Dictionary<string, SavedPendingPack> { ["d1"] = pending }));

        await using var agent = new MetaLearningAgent(new EventBus(), Config, store, logger: new AgentLogger(_log));
        await agent.StartAsync();
        Assert.Empty(agent.PendingDomains);
        Assert.Empty(agent.Learner.Domains);
        Assert.Contains(_log.AtLeast(LogLevel.Warning), e => e.Message.Contains("pending update of \"d1\": sequence 3 is not newer than the applied 3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task After_a_restart_a_refused_dense_update_still_moves_the_last_score()
    {
        Step[] steps =
        [
            Dense("a", 1, score: 0.8, offset: 0f),
            Window(1.0, bandwidthFree: true),                                  // saved: last score 0.8
            Dense("a", 2, score: 2.0, offset: 0.5f) with { RestartAfter = true }, // 2.0 - 0.8 > max_score_delta: refused, acknowledged
            Dense("a", 3, score: 2.5, offset: 1f),                             // 2.5 - 2.0 passes; 2.5 - 0.8 does not
            Window(1.0, bandwidthFree: true),
        ];
        await AssertSameDecisions(steps);
    }
}
