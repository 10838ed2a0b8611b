using System.Text.Json.Nodes;
using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Compute;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The dense lane refills one round's batch in the next round of as many updates (DESIGN §10: the pending updates
/// form a <see cref="DomainBatch"/> in domain id order): every round must still aggregate exactly its own updates,
/// with their own confidences and domain ids, as a fresh batch would, whether the domain count stays, shrinks or
/// grows, and at a size whose rows are copied on several threads.
/// </summary>
public sealed class DenseLaneRoundBatchTests : IAsyncDisposable
{
    private readonly EventBus _bus = new();
    private readonly List<JsonObject> _published = [];

    /// <summary>Fires every window, no jitter; the design's aggregation defaults (trimmed mean, outlier pass).</summary>
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default with
    {
        Scheduler = new SchedulerConfig(UpdateIntervalWindows: 1, MinIntervalWindows: 1, Jitter: 0),
    };

    public DenseLaneRoundBatchTests()
    {
        _bus.Subscribe(LearningTopics.MetaDensePrior, (e, _) =>
        {
            lock (_published) _published.Add((JsonObject)e.Payload!);
            return ValueTask.CompletedTask;
        });
    }

    public async ValueTask DisposeAsync() => await _bus.DisposeAsync();

    [Theory]
    [InlineData(37)]
    // Five rows of this many values pass the lane's parallel-copy size (2^20 cells).
    [InlineData(262_147)]
    public async Task Every_round_aggregates_its_own_updates_as_a_fresh_batch_would(int d)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        await using var agent = new MetaLearningAgent(_bus, Config);
        await agent.StartAsync();
        using var backend = new CpuBackend();
        var aggregator = new DenseCrossDomainAggregator(backend, Config.Cross);
        var byHand = new DenseReptileOptimizer(d, new OptimizerConfig());
        // Five domains (the outlier pass runs, and one is an attacker it names), then three, five other ones, and
        // the first five again: the batch is kept, replaced by a smaller one, by a larger one, and kept.
        string[][] rounds =
        [
            ["a", "b", "c", "d", "e"],
            ["b", "c", "d"],
            ["c", "d", "e", "f", "g"],
            ["a", "b", "c", "d", "e"],
        ];
        var sequence = new Dictionary<string, long>();

        for (var round = 0; round < rounds.Length; round++)
        {
            var domains = rounds[round];
            var attacker = domains[rng.Next(domains.Length)];
            var rows = new List<float[]>();
            var confidences = new List<double>();
            foreach (var domain in domains)
            {
                var v = new float[d];
                var shift = domain == attacker && domains.Length >= 5 ? 50f : 0f;
                for (var c = 0; c < d; c++) v[c] = (float)(rng.NextDouble() * 2 - 1) + shift;
                rows.Add(v);
                confidences.Add(0.3 + 0.7 * rng.NextDouble());
                var next = sequence[domain] = sequence.GetValueOrDefault(domain) + 1;
                await agent.HandleAsync(new BusEvent(LearningTopics.DenseUpdate,
                    new DenseUpdate(domain, next, confidences[^1], new DomainMetrics(GainP50: 0.5), (float[])v.Clone())), default);
            }
            await agent.HandleAsync(new BusEvent(LearningTopics.ProcessingMetrics, JsonNode.Parse("""{"gain_p50": 0.5, "latency_ms": 50}""")), default);
            await _bus.WaitForIdleAsync();

            var expected = DenseRoundByHand.Run(aggregator, byHand, d, domains.Select((domain, r) => (domain, rows[r], confidences[r])));

            Assert.True(round + 1 == _published.Count, $"seed {seed}, round {round}: {_published.Count} rounds published");
            Assert.Equal(expected.MetaJson().ToJsonString(), _published[round]["meta"]!.ToJsonString());
            DenseRoundByHand.AssertSamePrior(byHand.Prior, agent.Dense.Optimizer!.Prior, $"seed {seed}, round {round}");
        }
        // The attackers of the five-domain rounds were named as outliers: the ids travelled with their rows.
        Assert.Contains("outliers\":[\"", _published[0]["meta"]!.ToJsonString());
    }
}
