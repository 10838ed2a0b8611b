using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Learning;

/// <summary>The agent's dense lane read while the agent handles events, as a host polls it (and as the NATS tests
/// do, waiting for <c>agent.Dense.PendingDomains</c>): its pending domains and applied sequences are copies taken
/// safely, as the keyed lane's <see cref="MetaLearningAgent.PendingDomains"/> and
/// <see cref="MetaLearningAgent.LastAppliedSequences"/> are. The lane's maps were enumerated unlocked while a
/// delivery or a round changed them: "Collection was modified" escaped to the reader.</summary>
public sealed class DenseLaneConcurrentReadTests
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
    };

    [Fact]
    public async Task The_dense_lanes_pending_domains_and_sequences_read_during_handling_never_throw()
    {
        await using var bus = new EventBus();
        await using var agent = new MetaLearningAgent(bus, Config);
        await agent.StartAsync();
        var vector = Enumerable.Range(0, 8).Select(c => (float)Math.Cos(c)).ToArray();
        var window = new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 50}"""));
        using var done = new CancellationTokenSource();

        var feeding = Task.Run(async () =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            for (long sequence = 1; DateTime.UtcNow < deadline; sequence++)
            {
                for (var d = 0; d < 24; d++)
                    await agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate,
                        new DenseUpdate($"site-{d:D2}", sequence, 0.8, new DomainMetrics(GainP50: 0.5), vector)), default);
                await agent.HandleAsync(window, default);
            }
            done.Cancel();
        });
        var failures = new List<Exception>();
        var reading = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                try
                {
                    _ = agent.Dense.PendingDomains;
                    _ = agent.Dense.LastAppliedSequences;
                }
                catch (Exception e)
                {
                    failures.Add(e);
                    return;
                }
            }
        });
        await Task.WhenAll(feeding, reading);

        Assert.True(failures.Count == 0, $"reading the dense lane during handling threw: {failures.FirstOrDefault()}");
        Assert.True(agent.Dense.Round > 0);
    }
}
