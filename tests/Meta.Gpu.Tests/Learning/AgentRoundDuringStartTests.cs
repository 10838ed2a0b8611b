using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>A host that feeds the agent itself (<see cref="MetaLearningAgent.HandleAsync"/>) while its start is still
/// loading the saved state: the round waits for the start, instead of stepping an optimizer the start then replaced
/// with the saved prior's (the round's step lost from memory while its pack's sequence stayed applied, so a broker's
/// copy of the pack is stale and the step never comes back).</summary>
public sealed class AgentRoundDuringStartTests
{
    /// <summary>A store whose first load, once read, waits until released (a slow parse), so that the start is under way.</summary>
    private sealed class SlowLoadStore : IPriorStore
    {
        private readonly InMemoryPriorStore _inner = new();
        private int _loads;
        public ManualResetEventSlim Entered { get; } = new(false);
        public ManualResetEventSlim Release { get; } = new(false);

        public InMemoryPriorStore Inner => _inner;
        public void SavePrior(IReadOnlyDictionary<string, double> prior) => _inner.SavePrior(prior);
        public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences) => _inner.SavePrior(prior, lastSequences);
        public void SavePrior(IReadOnlyDictionary<string, double> prior, IReadOnlyDictionary<string, long> lastSequences, SavedLearnerState learners) =>
            _inner.SavePrior(prior, lastSequences, learners);
        public IReadOnlyDictionary<string, double>? LoadPrior() => _inner.LoadPrior();

        public SavedPrior? LoadPriorWithSequences()
        {
            // Read, then slow (a large state being parsed): the start holds what the store had before the round.
            var loaded = _inner.LoadPriorWithSequences();
            if (Interlocked.Increment(ref _loads) == 1)
            {
                Entered.Set();
                Release.Wait();
            }
            return loaded;
        }

        public long SizeBytes() => 0;
    }

    [Fact]
    public async Task A_round_fed_while_the_start_loads_is_not_undone_by_the_start()
    {
        await using var bus = new EventBus();
        var store = new SlowLoadStore();
        store.Inner.SavePrior(new Dictionary<string, double> { ["g_min"] = 0.02 }, new Dictionary<string, long>());
        await using var agent = new MetaLearningAgent(bus, AgentTestConfig.EveryWindow, store);

        var start = Task.Factory.StartNew(() => agent.StartAsync(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        Assert.True(store.Entered.Wait(TimeSpan.FromSeconds(30)));
        var feeding = Task.Run(async () =>
        {
            await agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
                """{"domain_id": "a", "sequence": 1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 0.8}, "evaluator": {"g_min": 0.01}}""")), default);
            await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 1.0, "latency_ms": 50}""")), default);
        });
        // The host's round either waits for the start or (before the fix) ran during the load.
        await Task.WhenAny(feeding, Task.Delay(TimeSpan.FromSeconds(2)));
        store.Release.Set();
        await start.WaitAsync(TimeSpan.FromSeconds(30));
        await feeding.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, agent.Rounds);
        Assert.Equal(1, agent.LastAppliedSequences["a"]);
        // The round's step is in the optimizer's prior, and the prior in memory is the one saved.
        Assert.True(agent.Optimizer.Prior.ContainsKey("tau"), $"the round's step was lost: the optimizer's prior is {{{string.Join(", ", agent.Optimizer.Prior)}}}");
        Assert.Equal(agent.GlobalPrior, store.Inner.LoadPrior());
    }
}
