using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// A saved learner state built in code (a store of the caller's own, <see cref="InMemoryPriorStore"/>) may hold null
/// parts the JSON file never does: a null learner, history or parameter map, a null pending pack or its keys or
/// vector, no domain map or optimizer state. Each is refused as the learner refuses any bad state (an
/// <see cref="InvalidInputException"/> naming the domain and the field, nothing changed), so the agent starts over
/// the prior with fresh learners and a warning, as README "Storage" says, instead of failing its start half-way.
/// </summary>
public sealed class NullSavedLearnerStateTests
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
        Cross = CrossMetaConfig.Compat with { Method = AggregationMethod.Mean },
    };

    private static readonly SavedOptimizerState Optimizer = new(0.2, 0.4);

    private static SavedDomainLearner Learner() =>
        new(0.5, 0.5, 0.2, [0.5], new Dictionary<string, double> { ["tau"] = 1.0 }, 2, null);

    private static Dictionary<string, double> P(double tau) => new(StringComparer.Ordinal) { ["tau"] = tau };

    public static TheoryData<string> NullLearnerParts => ["learner", "history", "previous_params"];

    private static SavedDomainLearner? WithNull(string part) => part switch
    {
        "learner" => null,
        "history" => Learner() with { History = null! },
        _ => Learner() with { PreviousParams = null! },
    };

    [Theory]
    [MemberData(nameof(NullLearnerParts))]
    public void Restore_refuses_a_null_part_naming_the_domain_and_keeps_every_domain(string part)
    {
        var learner = new DomainMetaLearner();
        learner.Observe("d", new DomainMetrics(MetaScore: 0.2, StabilityAvg: 0.9), P(1));
        var before = learner.State("d");

        var error = Assert.Throws<InvalidInputException>(() =>
            learner.Restore(new Dictionary<string, SavedDomainLearner> { ["e"] = Learner(), ["f"] = WithNull(part)! }));

        Assert.StartsWith("learner state of \"f\": ", error.Message, StringComparison.Ordinal);
        if (part != "learner") Assert.Contains(part, error.Message, StringComparison.Ordinal);
        Assert.Equal(["d"], learner.Domains);
        Assert.Equal(before, learner.State("d"));
        // The learner still works: the next observation of "d" decides from the state it kept.
        var next = learner.Observe("d", new DomainMetrics(MetaScore: 0.5, StabilityAvg: 0.9), P(1));
        Assert.Equal(0.3, next.ScoreDelta, 12);
    }

    public static TheoryData<string> NullStateParts =>
        ["learner", "history", "previous_params", "domains", "optimizer", "pending pack", "pending keys", "pending vector"];

    private static SavedLearnerState StateWithNull(string part)
    {
        var domains = new Dictionary<string, SavedDomainLearner> { ["d1"] = Learner() };
        var pack = new SavedPendingPack(4, ["tau"], [1f], 0.5, 0.2, DateTimeOffset.UnixEpoch, 0);
        return part switch
        {
            "domains" => new SavedLearnerState(null!, Optimizer),
            "optimizer" => new SavedLearnerState(domains, null!),
            "pending pack" => new SavedLearnerState(domains, Optimizer, new Dictionary<string, SavedPendingPack> { ["d1"] = null! }),
            "pending keys" => new SavedLearnerState(domains, Optimizer, new Dictionary<string, SavedPendingPack> { ["d1"] = pack with { Keys = null! } }),
            "pending vector" => new SavedLearnerState(domains, Optimizer, new Dictionary<string, SavedPendingPack> { ["d1"] = pack with { Vector = null! } }),
            _ => new SavedLearnerState(new Dictionary<string, SavedDomainLearner> { ["d1"] = WithNull(part)! }, Optimizer),
        };
    }

    [Theory]
    [MemberData(nameof(NullStateParts))]
    public async Task A_saved_state_with_a_null_part_is_logged_and_the_agent_starts_with_fresh_learners(string part)
    {
        // It threw a NullReferenceException out of StartAsync after the agent was marked started and before it
        // subscribed: a retry was "already started", and the agent never handled an event.
        var store = new InMemoryPriorStore();
        store.SavePrior(P(1.0), new Dictionary<string, long>(), StateWithNull(part));
        var log = new RecordingLogger();
        await using var bus = new EventBus();
        await using var agent = new MetaLearningAgent(bus, Config, store, logger: new TypedLogger(log));

        await agent.StartAsync();

        Assert.Empty(agent.Learner.Domains);
        Assert.Empty(agent.PendingDomains);
        Assert.Equal(Config.Optimizer.BetaInit, agent.Optimizer.Beta);
        Assert.Equal(1.0, agent.GlobalPrior["tau"]);
        Assert.Contains(log.AtLeast(LogLevel.Warning), e => e.Message.Contains("learner state was not restored", StringComparison.Ordinal));
        // Subscribed and working: a pack published now is observed.
        await bus.PublishAsync(LearningTopics.PolicyPack, JsonNode.Parse(
            """{"domain_id": "d2", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.1}, "evaluator": {"g_min": 0.01}}"""));
        await bus.WaitForIdleAsync();
        Assert.Equal(["d2"], agent.Learner.Domains);
    }

    private sealed class TypedLogger(ILogger inner) : ILogger<MetaLearningAgent>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
