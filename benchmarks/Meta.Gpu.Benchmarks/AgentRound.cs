using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Benchmarks;

/// <summary>
/// One full round of the <see cref="MetaLearningAgent"/> (keyed lane, DESIGN §10): <see cref="Domains"/> policy
/// packs (observe, validate, pending) then a <c>processing_metrics</c> window on which the scheduler fires
/// (interval 1, no jitter): aggregate (§4 defaults), optimizer step, prior merged and saved (in memory), four
/// publishes on an in-process bus. Events go to the agent's <see cref="MetaLearningAgent.HandleAsync"/> directly.
/// </summary>
[BenchmarkCategory("agent_round")]
public class AgentRound
{
    private EventBus bus = null!;
    private MetaLearningAgent agent = null!;
    private BusEvent[][] packs = [];
    private BusEvent window;
    private int round;

    [Params(16, 64)]
    public int Domains { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        bus = new EventBus();
        var config = MetaLearningConfig.Default with
        {
            Scheduler = MetaLearningConfig.Default.Scheduler with { UpdateIntervalWindows = 1, MinIntervalWindows = 1, Jitter = 0 },
        };
        agent = new MetaLearningAgent(bus, config, schedulerRandom: () => 0.5);
        // Started as a host starts it (nothing to load); the events reach it only through HandleAsync.
        agent.StartAsync().GetAwaiter().GetResult();
        packs = new BusEvent[2][];
        for (var set = 0; set < 2; set++)
        {
            packs[set] = new BusEvent[Domains];
            for (var i = 0; i < Domains; i++)
            {
                var x = (i % 17) / 17.0;
                var s = set * 0.01;
                packs[set][i] = new BusEvent(LearningTopics.PolicyPack, new JsonObject
                {
                    ["domain_id"] = $"d{i:D3}",
                    ["metrics"] = new JsonObject { ["meta_score"] = 0.4 + 0.2 * x + s, ["stability_avg"] = 0.8 },
                    ["controller"] = new JsonObject { ["tau"] = 0.8 + 0.2 * x + s, ["gamma_diversity"] = 0.3 + 0.1 * x },
                    ["evaluator"] = new JsonObject { ["g_min"] = 0.01 + 0.005 * x, ["lambda_ci"] = 0.5 + 0.05 * x - s },
                });
            }
        }
        window = new BusEvent(LearningTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.3, ["meta_score"] = 0.5, ["latency_ms"] = 50.0 });
        // Domains earn the validator's trust over their first windows (§7); measure rounds that aggregate.
        for (var i = 0; i < 5; i++) Round().GetAwaiter().GetResult();
        if (agent.Rounds == 0) throw new InvalidOperationException("the warm-up rounds did not aggregate");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        agent.DisposeAsync().AsTask().GetAwaiter().GetResult();
        bus.ShutdownAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
    }

    [Benchmark]
    public async Task Round()
    {
        foreach (var pack in packs[round++ & 1]) await agent.HandleAsync(pack, CancellationToken.None).ConfigureAwait(false);
        await agent.HandleAsync(window, CancellationToken.None).ConfigureAwait(false);
    }
}
