using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// States the learning code reaches at the edges of what it accepts must survive a clean stop and a restart: the
/// state file's reader once refused them, and a refused file means every domain's learner starts fresh.
/// </summary>
public sealed class LearnerStateEdgeValueTests : IDisposable
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
        Validator = new ValidatorConfig(MinConfidence: 0.0),
    };

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static BusEvent Pack(string json) => new(LearningTopics.PolicyPack, JsonNode.Parse(json));

    [Fact]
    public async Task A_pending_pack_with_an_empty_parameter_name_survives_a_clean_stop_and_restart()
    {
        var root = _folder.Path;
        await using var bus = new EventBus();
        var agent = new MetaLearningAgent(bus, Config, new MetaStorageManager(new StorageConfig(root)));
        await agent.StartAsync();
        await agent.HandleAsync(Pack("""{"domain_id": "b", "sequence": 1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.0}}"""), default);
        await agent.HandleAsync(Pack("""{"domain_id": "a", "sequence": 1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"": 0.5, "tau": 1.0}}"""), default);
        Assert.Equal(["a", "b"], agent.PendingDomains);
        await agent.StopAsync();

        var restarted = new MetaLearningAgent(bus, Config, new MetaStorageManager(new StorageConfig(root)));
        await restarted.StartAsync();
        try
        {
            Assert.Equal(["a", "b"], restarted.PendingDomains);
            Assert.NotNull(restarted.Learner.State("b"));
        }
        finally { await restarted.StopAsync(); }
    }

    /// <summary>optimizer.beta_min_factor 0 lets beta decay to 0 under load (at the default decay after about 3,300
    /// loaded rounds; here a decay of 1e-200 gets there in two).</summary>
    [Fact]
    public async Task A_beta_that_decayed_to_zero_is_restored_with_the_learners_after_a_restart()
    {
        var config = Config with { Optimizer = new OptimizerConfig(BetaMinFactor: 0, BetaDecayRate: 1e-200) };
        var root = _folder.Path;
        await using var bus = new EventBus();
        var agent = new MetaLearningAgent(bus, config, new MetaStorageManager(new StorageConfig(root)));
        await agent.StartAsync();
        for (var sequence = 1; sequence <= 2; sequence++)
        {
            await agent.HandleAsync(Pack($$$"""{"domain_id": "a", "sequence": {{{sequence}}}, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.0}}"""), default);
            await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 200}""")), default);
        }
        Assert.Equal(2, agent.Rounds);
        Assert.Equal(0.0, agent.Optimizer.Beta);
        var confidence = agent.Learner.State("a")!.Confidence;
        await agent.StopAsync();

        var restarted = new MetaLearningAgent(bus, config, new MetaStorageManager(new StorageConfig(root)));
        await restarted.StartAsync();
        try
        {
            Assert.NotNull(restarted.Learner.State("a"));
            Assert.Equal(confidence, restarted.Learner.State("a")!.Confidence);
            Assert.Equal(0.0, restarted.Optimizer.Beta);
        }
        finally { await restarted.StopAsync(); }
    }
}
