using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// A pending pack saved by a clean stop is checked again by the validator of the agent that restores it: a
/// restart with a tightened validator (DESIGN §12) must not apply a pack that validator refuses.
/// </summary>
public sealed class RestoredPendingValidationTests : IDisposable
{
    private static readonly MetaLearningConfig Lenient = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
        Validator = new ValidatorConfig(MinConfidence: 0.0),
    };

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static BusEvent Pack(string json) => new(LearningTopics.PolicyPack, JsonNode.Parse(json));

    [Fact]
    public async Task A_restored_pending_pack_the_tightened_validator_refuses_is_dropped_and_the_others_are_kept()
    {
        var root = _folder.Path;
        await using var bus = new EventBus();
        var agent = new MetaLearningAgent(bus, Lenient, new MetaStorageManager(new StorageConfig(root)));
        await agent.StartAsync();
        await agent.HandleAsync(Pack("""{"domain_id": "a", "sequence": 1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.0, "kappa": 2.0, "rho": 3.0}}"""), default);
        await agent.HandleAsync(Pack("""{"domain_id": "b", "sequence": 1, "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 1.0}}"""), default);
        Assert.Equal(["a", "b"], agent.PendingDomains);
        var learnerA = agent.Learner.State("a")!.Confidence;
        await agent.StopAsync();

        var tightened = Lenient with { Validator = new ValidatorConfig(MinConfidence: 0.0, MaxKeys: 2) };
        var restarted = new MetaLearningAgent(bus, tightened, new MetaStorageManager(new StorageConfig(root)));
        await restarted.StartAsync();
        try
        {
            Assert.Equal(["b"], restarted.PendingDomains);
            // The pack is refused, not the learner: what observing it taught the learner stays.
            Assert.Equal(learnerA, restarted.Learner.State("a")!.Confidence);
            await restarted.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 200}""")), default);
            Assert.Equal(1, restarted.Rounds);
            Assert.DoesNotContain("kappa", restarted.GlobalPrior.Keys);
            Assert.Contains("tau", restarted.GlobalPrior.Keys);
        }
        finally { await restarted.StopAsync(); }
    }
}
