using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// <c>agent_round</c>: one full round of the <see cref="MetaLearningAgent"/> (keyed lane, DESIGN §10): N domains'
/// policy packs (observe, validate, pending), then a <c>processing_metrics</c> window on which the scheduler fires
/// (interval 1, no jitter), so the round aggregates the N updates (§4 defaults), steps and saves the prior (in
/// memory) and publishes its four outputs on an in-process <see cref="EventBus"/>. Events are handed to the agent
/// directly (its <see cref="MetaLearningAgent.HandleAsync"/>), so the time is the agent's, not the bus's.
/// </summary>
/// <remarks>
/// The warm-up rounds also let the domains earn the validator's trust (a domain's first updates have confidence
/// &lt;= 0.1 and are refused, §7). The row reports milliseconds per round; a repeat whose rounds did not all run
/// (the agent's round counter says so) is an error, not a figure.
/// </remarks>
public static class AgentRoundWorkload
{
    public static async Task<BenchResult> RunAsync(BenchOptions options, int domains, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = MetaLearningConfig.Default with
        {
            Scheduler = MetaLearningConfig.Default.Scheduler with { UpdateIntervalWindows = 1, MinIntervalWindows = 1, Jitter = 0 },
        };
        var bus = new EventBus();
        await using (bus.ConfigureAwait(false))
        {
            var agent = new MetaLearningAgent(bus, config, schedulerRandom: () => 0.5);
            await using (agent.ConfigureAwait(false))
            {
                // Started as a host starts it (its in-memory store holds nothing to load); nothing is published to
                // its topics on this bus, so the events below reach it only through HandleAsync.
                await agent.StartAsync(token).ConfigureAwait(false);
                var packs = new BusEvent[2][];
                for (var set = 0; set < 2; set++)
                {
                    packs[set] = new BusEvent[domains];
                    for (var i = 0; i < domains; i++)
                        packs[set][i] = new BusEvent(LearningTopics.PolicyPack, Pack(i, set));
                }
                var window = new BusEvent(LearningTopics.ProcessingMetrics, new JsonObject { ["accept_rate"] = 0.3, ["meta_score"] = 0.5, ["latency_ms"] = 50.0 });
                var round = 0;

                async Task RunRounds(int count)
                {
                    for (var r = 0; r < count; r++, round++)
                    {
                        foreach (var pack in packs[round & 1]) await agent.HandleAsync(pack, token).ConfigureAwait(false);
                        await agent.HandleAsync(window, token).ConfigureAwait(false);
                    }
                }

                await RunRounds(Math.Max(options.Warmup, 5)).ConfigureAwait(false);
                var roundsPerRepeat = options.Quick ? 5 : 20;
                var times = new RowRepeats(options.Repeats, options.RowBudget);
                while (times.More)
                {
                    var before = agent.Rounds;
                    var start = Stopwatch.GetTimestamp();
                    await RunRounds(roundsPerRepeat).ConfigureAwait(false);
                    times.Add(Stopwatch.GetElapsedTime(start), roundsPerRepeat);
                    if (agent.Rounds - before != roundsPerRepeat)
                        throw new InvalidOperationException($"agent_round: {agent.Rounds - before} of {roundsPerRepeat} rounds ran");
                }
                var row = BenchResult.Timed(BenchWorkloads.AgentRound, BenchBackends.Cpu, domains, 4, times.Milliseconds, 0, 0);
                return row with
                {
                    OpsPerS = 1000.0 / row.MedianMs,
                    Note = string.Create(CultureInfo.InvariantCulture,
                        $"MetaLearningAgent keyed lane: {domains} policy packs (4 knobs) + 1 window per round, scheduler every window, {roundsPerRepeat} rounds per repeat (times are per round)"),
                };
            }
        }
    }

    private static JsonObject Pack(int domain, int set)
    {
        var x = (domain % 17) / 17.0;
        var s = set * 0.01;
        return new JsonObject
        {
            ["domain_id"] = $"d{domain:D3}",
            ["metrics"] = new JsonObject { ["meta_score"] = 0.4 + 0.2 * x + s, ["stability_avg"] = 0.8 },
            ["controller"] = new JsonObject { ["tau"] = 0.8 + 0.2 * x + s, ["gamma_diversity"] = 0.3 + 0.1 * x },
            ["evaluator"] = new JsonObject { ["g_min"] = 0.01 + 0.005 * x, ["lambda_ci"] = 0.5 + 0.05 * x - s },
        };
    }
}
