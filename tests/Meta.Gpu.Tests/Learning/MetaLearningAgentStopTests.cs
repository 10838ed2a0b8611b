using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>The agent's StopAsync whose wait was cancelled is done by the next stop, as the supervisor's is
/// (MetaSupervisorEventBusTests.A_stop_whose_wait_was_cancelled_is_done_by_the_next_and_closes_the_policy_log).</summary>
public sealed class MetaLearningAgentStopTests
{
    /// <summary>A store whose save waits until released (a slow disk), so that a round is under way.</summary>
    private sealed class SlowStore : IPriorStore
    {
        private readonly InMemoryPriorStore _inner = new();
        public ManualResetEventSlim Entered { get; } = new(false);
        public ManualResetEventSlim Release { get; } = new(false);
        public volatile bool Saved;

        public void SavePrior(IReadOnlyDictionary<string, double> prior) => _inner.SavePrior(prior);

        public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences)
        {
            Entered.Set();
            Release.Wait();
            _inner.SavePrior(prior, lastSequences);
            Saved = true;
        }

        public IReadOnlyDictionary<string, double>? LoadPrior() => _inner.LoadPrior();
        public SavedPrior? LoadPriorWithSequences() => _inner.LoadPriorWithSequences();
        public long SizeBytes() => 0;
    }

    private static readonly MetaLearningConfig Config = AgentTestConfig.EveryWindow;

    [Fact]
    public async Task A_stop_whose_wait_was_cancelled_is_done_by_the_next_which_waits_for_the_round_under_way()
    {
        await using var bus = new EventBus();
        var store = new SlowStore();
        var agent = new MetaLearningAgent(bus, Config, store);
        await agent.StartAsync();
        await bus.PublishAsync(LearningTopics.PolicyPack, JsonNode.Parse("""{"domain_id": "a", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 0.8}, "evaluator": {"g_min": 0.01}}"""));
        await bus.PublishAsync(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}"""));
        Assert.True(store.Entered.Wait(TimeSpan.FromSeconds(30)));

        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => agent.StopAsync(cancel.Token));

        // The host stops again (or disposes) without a limit: that must wait for the round still saving, as the
        // first stop would have, before the host tears down what the round uses (bus, storage, dense backend).
        var second = agent.DisposeAsync().AsTask();
        await Task.Delay(300);
        var returnedEarly = second.IsCompleted;
        store.Release.Set();
        await second.WaitAsync(TimeSpan.FromSeconds(30));
        await bus.WaitForIdleAsync();
        Assert.False(returnedEarly, "DisposeAsync returned while the agent's round was still saving the prior");
    }
}
