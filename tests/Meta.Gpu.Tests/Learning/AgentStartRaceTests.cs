using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Storage;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>Two starts of one agent at once: one subscribes, the other is refused ("already started"), so each
/// delivery is handled once.</summary>
public sealed class AgentStartRaceTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Two_starts_at_once_subscribe_once_and_each_pack_is_observed_once()
    {
        var doubled = 0;
        for (var attempt = 0; attempt < 30; attempt++)
        {
            await using var bus = new EventBus();
            var storage = new MetaStorageManager(new StorageConfig(Path.Combine(_folder.Path, $"s{attempt}")));
            storage.SavePrior(new Dictionary<string, double> { ["tau"] = 0.9 });
            await using var agent = new MetaLearningAgent(bus, AgentTestConfig.EveryWindow, storage);
            var start = new Barrier(2);
            var starts = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(async () =>
            {
                start.SignalAndWait();
                try
                {
                    await agent.StartAsync();
                }
                catch (InvalidOperationException)
                {
                    // Refused: already started.
                }
            }, TaskCreationOptions.LongRunning).Unwrap()).ToArray();
            await Task.WhenAll(starts);

            await bus.PublishAsync(LearningTopics.PolicyPack, JsonNode.Parse(
                """{"domain_id": "a", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 0.5}, "evaluator": {"g_min": 0.01}}"""));
            await bus.WaitForIdleAsync();
            if (agent.Learner.State("a")!.Observations != 1) doubled++;
        }
        Assert.Equal(0, doubled);
    }
}
