using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// What the keyed lane does with a policy pack the validator refuses. DESIGN §10: "params = controller then
/// evaluator; observe; if the update validates, it replaces the domain's pending update (an invalid one changes
/// nothing)." §7: the observation itself moves the learner ("Then previous params = params, last_score = score"),
/// and §12 names the rules: what counts toward max_keys is the pack's parameter names, controller and evaluator
/// merged. The agent logs the refused rules by their §12 names, in §12's order, and publishes nothing for it.
/// </summary>
public sealed class AgentRefusedPackTests : IAsyncDisposable
{
    private readonly EventBus _bus = new();
    private readonly RecordingLogger _log = new();
    private readonly List<string> _published = [];

    public AgentRefusedPackTests()
    {
        _bus.Subscribe([LearningTopics.MetaTelemetry, LearningTopics.MetaRollbackActive, LearningTopics.MetaPriorUpdate, LearningTopics.MetaUpdate, LearningTopics.MetaDensePrior], (e, _) =>
        {
            lock (_published) _published.Add(e.Topic);
            return ValueTask.CompletedTask;
        });
    }

    public async ValueTask DisposeAsync() => await _bus.DisposeAsync();

    private sealed class AgentLogger(ILogger inner) : ILogger<MetaLearningAgent>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }

    private async Task<MetaLearningAgent> Started(ValidatorConfig? validator = null)
    {
        var config = AgentTestConfig.EveryWindow;
        if (validator is not null) config = config with { Validator = validator };
        var agent = new MetaLearningAgent(_bus, config, logger: new AgentLogger(_log));
        await agent.StartAsync();
        return agent;
    }

    private static string Params(int from, int count) =>
        string.Join(", ", Enumerable.Range(from, count).Select(i => $"\"p{i:D2}\": 0.5"));

    private static Task Pack(MetaLearningAgent agent, string domain, double score, string controller, string evaluator = "", double stability = 0.9) =>
        agent.HandleAsync(new BusEvent(LearningTopics.PolicyPack, JsonNode.Parse(
            $$$"""{"domain_id": "{{{domain}}}", "metrics": {"meta_score": {{{score}}}, "stability_avg": {{{stability}}}}, "controller": { {{{controller}}} }, "evaluator": { {{{evaluator}}} }}""")), default).AsTask();

    private async Task Window(MetaLearningAgent agent)
    {
        await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 50}""")), default);
        await _bus.WaitForIdleAsync();
    }

    private string[] Refusals() =>
        [.. _log.Entries.Where(e => e.Level == LogLevel.Information && e.Message.Contains("refused by the validator", StringComparison.Ordinal)).Select(e => e.Message)];

    [Fact]
    public async Task A_refused_pack_leaves_the_domains_pending_update_in_place_and_the_round_applies_that_one()
    {
        await using var agent = await Started();
        await Pack(agent, "a", score: 0.25, """ "tau": 1.0 """);
        Assert.Equal(["a"], agent.PendingDomains);

        await Pack(agent, "a", score: 2.0, """ "tau": 5.0 """);                // score_delta 1.75 > 1.0
        await Pack(agent, "a", score: 2.0, """ "tau": "nan" """);             // non_finite
        Assert.Equal(["a"], agent.PendingDomains);

        await Window(agent);
        Assert.Equal(1, agent.Rounds);
        Assert.Equal(1.0, agent.GlobalPrior["tau"]);
    }

    [Fact]
    public async Task A_refused_pack_still_moves_the_learner_so_its_jump_is_refused_once_not_for_good()
    {
        await using var agent = await Started();
        await Pack(agent, "a", score: 0.25, """ "tau": 1.0 """);
        await Pack(agent, "a", score: 2.0, """ "tau": 2.0 """);               // 2.0 - 0.25 > 1.0: refused
        var state = agent.Learner.State("a")!;
        Assert.Equal(2.0, state.LastScore);
        Assert.Equal(2, state.Observations);
        Assert.Equal(["update of domain a refused by the validator: score_delta"], Refusals());

        await Pack(agent, "a", score: 2.0, """ "tau": 3.0 """);               // 2.0 - 2.0: judged from the refused score
        Assert.Single(Refusals());
        await Window(agent);
        Assert.Equal(3.0, agent.GlobalPrior["tau"]);
    }

    [Fact]
    public async Task A_score_jump_of_exactly_max_score_delta_is_taken_and_a_larger_one_refused()
    {
        await using var agent = await Started();
        await Pack(agent, "a", score: 0.25, """ "tau": 1.0 """);
        await Pack(agent, "b", score: 0.25, """ "tau": 1.0 """);
        await Window(agent);
        Assert.Empty(agent.PendingDomains);

        await Pack(agent, "a", score: 1.25, """ "tau": 2.0 """);              // +1.0: equal passes
        await Pack(agent, "b", score: -0.75, """ "tau": 2.0 """);             // -1.0: equal passes
        Assert.Equal(["a", "b"], agent.PendingDomains);
        await Window(agent);

        await Pack(agent, "a", score: 2.25 + 1e-9, """ "tau": 3.0 """);       // just over +1.0
        await Pack(agent, "b", score: -1.75 - 1e-9, """ "tau": 3.0 """);      // just under -1.0
        Assert.Empty(agent.PendingDomains);
        Assert.Equal(
            ["update of domain a refused by the validator: score_delta", "update of domain b refused by the validator: score_delta"],
            Refusals());
    }

    [Fact]
    public async Task Max_keys_counts_the_distinct_names_of_controller_and_evaluator_merged()
    {
        await using var agent = await Started();
        // 20 + 20 names, 8 in both: 32 parameters (the evaluator's value wins for the shared ones).
        await Pack(agent, "a", score: 0.25, Params(0, 20), Params(12, 20));
        Assert.Equal(["a"], agent.PendingDomains);
        Assert.Empty(Refusals());

        // 17 + 16 names, none shared: 33.
        await Pack(agent, "b", score: 0.25, Params(0, 17), Params(17, 16));
        Assert.Equal(["a"], agent.PendingDomains);
        Assert.Equal(["update of domain b refused by the validator: too_many_keys"], Refusals());
    }

    [Fact]
    public async Task At_max_keys_one_a_pack_with_the_same_name_in_controller_and_evaluator_is_one_key()
    {
        await using var agent = await Started(new ValidatorConfig(MinConfidence: 0.05, MaxKeys: 1));
        await Pack(agent, "a", score: 0.25, """ "tau": 1.0 """, """ "tau": 2.0 """);
        Assert.Equal(["a"], agent.PendingDomains);
        await Pack(agent, "b", score: 0.25, """ "tau": 1.0 """, """ "g_min": 2.0 """);
        Assert.Equal(["a"], agent.PendingDomains);

        await Window(agent);
        Assert.Equal(2.0, agent.GlobalPrior["tau"]);
        Assert.False(agent.GlobalPrior.ContainsKey("g_min"));
    }

    [Fact]
    public async Task Every_broken_rule_is_logged_by_name_in_the_design_order()
    {
        // The default validator: a first observation's confidence (0.9 * 0 + 0.1 * 0.9 = 0.09) is below 0.1.
        await using var agent = await Started(ValidatorConfig.Default);
        await Pack(agent, "a", score: 1.5, Params(0, 33).Replace("\"p32\": 0.5", "\"p32\": \"inf\"", StringComparison.Ordinal));

        Assert.Empty(agent.PendingDomains);
        Assert.Equal(["update of domain a refused by the validator: confidence, too_many_keys, score_delta, non_finite"], Refusals());
    }

    [Fact]
    public async Task Confidence_exactly_at_min_confidence_is_taken_and_the_next_double_up_refuses_it()
    {
        // A first observation's confidence is 0.9 * 0 + (1 - 0.9) * stability: at min_confidence = that very value it
        // passes ("equal passes"); a floor one double higher refuses the same pack.
        var atFloor = (1 - 0.9) * 0.5;
        await using (var agent = await Started(new ValidatorConfig(MinConfidence: atFloor)))
        {
            await Pack(agent, "a", score: 0.25, """ "tau": 1.0 """, stability: 0.5);
            Assert.Equal(atFloor, agent.Learner.State("a")!.Confidence);
            Assert.Equal(["a"], agent.PendingDomains);
            await agent.StopAsync();
        }
        Assert.Empty(Refusals());

        await using (var agent = await Started(new ValidatorConfig(MinConfidence: Math.BitIncrement(atFloor))))
        {
            await Pack(agent, "a", score: 0.25, """ "tau": 1.0 """, stability: 0.5);
            Assert.Empty(agent.PendingDomains);
            await agent.StopAsync();
        }
        Assert.Equal(["update of domain a refused by the validator: confidence"], Refusals());
    }

    [Fact]
    public async Task A_window_after_only_refused_packs_runs_no_round_and_publishes_nothing()
    {
        await using var agent = await Started(ValidatorConfig.Default);
        await Pack(agent, "a", score: 0.25, """ "tau": 1.0 """);             // confidence 0.09 < 0.1
        await Window(agent);

        Assert.Equal(0, agent.Rounds);
        Assert.Empty(agent.GlobalPrior);
        lock (_published) Assert.Empty(_published);
    }
}
