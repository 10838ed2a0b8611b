using Meta.Gpu.Compute;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Tests.Compute;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The dense lane keeps its own copy of each accepted update (DESIGN §10: the newest valid update per domain is
/// pending) and reuses the arrays of the copies a round consumed, and of the updates superseded, for the copies of
/// later updates: every round must still apply exactly the newest accepted values of each of its domains, as a fresh
/// batch of them would, whatever the sender does with its array afterwards, when domains come and go, when an update
/// is superseded or a newer one refused, and when a round fails and runs again with more updates taken in between.
/// </summary>
public sealed class DenseLaneUpdateCopyTests
{
    private static readonly MetaLearningConfig Config = MetaLearningConfig.Default;

    private static LearningRoundInput Round() => new(0.5, DrgProfile.None, 50, new SchedulerTelemetry());

    [Theory]
    [InlineData(37)]
    [InlineData(70_001)]
    public void Every_round_applies_the_newest_accepted_values_of_its_domains_as_a_fresh_batch_would(int d)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var backend = new CombineFailingBackend();
        using var lane = new DenseLearningLane(Config, backend, false, null, new MetaPacketValidator(Config.Validator), NullLogger.Instance);
        using var reference = new CpuBackend();
        var aggregator = new DenseCrossDomainAggregator(reference, Config.Cross);
        var byHand = new DenseReptileOptimizer(d, Config.Optimizer with { UpdateRule = UpdateRule.Interpolate });
        var pending = new SortedDictionary<string, (float[] Values, double Confidence)>(StringComparer.Ordinal);
        var sequence = new Dictionary<string, long>();
        // One array per sender, reused for each of its updates and overwritten once the lane has taken it.
        var scratch = new Dictionary<string, float[]>();
        var rounds = 0;

        void Send(string domain, bool nonFinite = false)
        {
            var v = scratch.TryGetValue(domain, out var kept) ? kept : scratch[domain] = new float[d];
            var shift = (float)(rng.NextDouble() * 0.5);
            for (var c = 0; c < d; c++) v[c] = (float)(rng.NextDouble() * 2 - 1) + shift;
            if (nonFinite) v[rng.Next(d)] = float.NaN;
            var confidence = 0.3 + 0.7 * rng.NextDouble();
            var next = sequence[domain] = sequence.GetValueOrDefault(domain) + 1;
            var accepted = lane.Accept(new DenseUpdate(domain, next, confidence, new DomainMetrics(GainP50: 0.5), v));
            Assert.True(accepted != nonFinite, $"seed {seed}: {domain}#{next} accepted: {accepted}");
            if (accepted) pending[domain] = (v.ToArray(), confidence);
            v.AsSpan().Fill(rng.Next(2) == 0 ? float.NaN : 1e30f);
        }

        void RunAndCompare(string when)
        {
            var expected = DenseRoundByHand.Run(aggregator, byHand, d, pending.Select(p => (p.Key, p.Value.Values, p.Value.Confidence)));
            pending.Clear();

            var payload = lane.RunRound(Round());
            Assert.True(payload is not null, $"seed {seed}, {when}: no round");
            Assert.True(++rounds == lane.Round, $"seed {seed}, {when}: round {lane.Round}");
            Assert.Equal(expected.MetaJson().ToJsonString(), payload["meta"]!.ToJsonString());
            DenseRoundByHand.AssertSamePrior(byHand.Prior, lane.Optimizer!.Prior, $"seed {seed}, {when}");
        }

        // Five domains, "b" superseding its own update before the others send.
        foreach (var domain in new[] { "a", "b", "b", "c", "d", "e" }) Send(domain);
        RunAndCompare("five domains");

        // Three of them; the round fails, and before it runs again two new domains send and "c" supersedes its
        // update: the copies the failed round did not consume are still pending.
        foreach (var domain in new[] { "b", "c", "d" }) Send(domain);
        backend.Fail = true;
        Assert.Throws<InvalidOperationException>(() => lane.RunRound(Round()));
        backend.Fail = false;
        Assert.Equal(["b", "c", "d"], lane.PendingDomains);
        foreach (var domain in new[] { "f", "g", "c" }) Send(domain);
        RunAndCompare("after a failed round");

        // Five domains again, one of which sends a newer update that is refused (a NaN): its pending one stays.
        foreach (var domain in new[] { "c", "d", "e", "f", "g" }) Send(domain);
        Send("d", nonFinite: true);
        RunAndCompare("with a refused update");

        // The first five again, and then a single domain.
        foreach (var domain in new[] { "a", "b", "c", "d", "e" }) Send(domain);
        RunAndCompare("the first five again");
        Send("g");
        RunAndCompare("one domain");
    }
}
