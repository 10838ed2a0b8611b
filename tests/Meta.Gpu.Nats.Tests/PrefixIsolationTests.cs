using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>Two runs on one broker under different prefixes must not see or disturb each other's domain work
/// (README, "Beyond one machine": a run beside a `meta-gpu serve` on the same broker takes a prefix of its own).</summary>
public sealed class PrefixIsolationTests
{
    private const string Dense = "federation.dense_update";
    private const string Pack = "federation.policy_pack";

    [Fact]
    public async Task Two_prefixes_with_the_same_domain_and_sequence_each_get_their_own_large_vector()
    {
        // The object bucket is shared by every prefix, and the object's name had no prefix: run B's vector overwrote
        // run A's, whose message then failed its SHA-256 check and was terminated (lost).
        await using var server = await NatsServer.StartAsync();
        var a = Buses.Options(server, "run_a") with { InlineLimitBytes = 1024 };
        var b = Buses.Options(server, "run_b") with { InlineLimitBytes = 1024 };
        await using (var domainA = await Buses.ConnectAsync(a))
        await using (var domainB = await Buses.ConnectAsync(b))
        {
            await domainA.PublishAsync(Dense, Buses.DenseUpdate("domain-000", 1, 1f));
            await domainB.PublishAsync(Dense, Buses.DenseUpdate("domain-000", 1, 2f));
        }

        await using var aggregatorA = await Buses.ConnectAsync(a);
        await using var aggregatorB = await Buses.ConnectAsync(b);
        var gotA = new TaskCompletionSource<float[]>();
        var gotB = new TaskCompletionSource<float[]>();
        using var subscriptionA = aggregatorA.Subscribe(Dense, (e, _) =>
        {
            gotA.TrySetResult(Buses.ReceivedVector(e));
            return ValueTask.CompletedTask;
        });
        var vectorA = await gotA.Task.WaitAsync(TimeSpan.FromSeconds(20));
        using var subscriptionB = aggregatorB.Subscribe(Dense, (e, _) =>
        {
            gotB.TrySetResult(Buses.ReceivedVector(e));
            return ValueTask.CompletedTask;
        });
        var vectorB = await gotB.Task.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, aggregatorA.NatsStats.Rejected);
        Assert.Equal(0, aggregatorB.NatsStats.Rejected);
        Assert.All(vectorA, v => Assert.Equal(1f, v));
        Assert.All(vectorB, v => Assert.Equal(2f, v));
    }

    [Theory]
    [InlineData("run-1", "run_1")]
    [InlineData("Run", "run")]
    [InlineData("a-b", "A_B")]
    public async Task A_prefix_whose_stream_name_another_prefix_holds_is_refused_and_takes_nothing_from_it(string first, string second)
    {
        // Stream names fold case and '.'/'-': the second run rewrote the first's stream to its own subject, and the
        // first run's packs went nowhere (one of three arrived).
        await using var server = await NatsServer.StartAsync();
        await using var busA = await Buses.ConnectAsync(Buses.Options(server, first));
        await using var busB = await Buses.ConnectAsync(Buses.Options(server, second) with { PublishTimeout = TimeSpan.FromSeconds(5) });
        var countA = 0;
        using var subscription = busA.Subscribe(Pack, (_, _) =>
        {
            Interlocked.Increment(ref countA);
            return ValueTask.CompletedTask;
        });
        await busA.PublishAsync(Pack, new JsonObject { ["domain_id"] = "d", ["sequence"] = 1 });

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => busB.PublishAsync(Pack, new JsonObject { ["domain_id"] = "d", ["sequence"] = 1 }).AsTask());
        Assert.Contains($"prefix '{second}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("belongs to another prefix", error.Message, StringComparison.Ordinal);

        for (var i = 2; i <= 3; i++) await busA.PublishAsync(Pack, new JsonObject { ["domain_id"] = "d", ["sequence"] = i });
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await busA.WaitForIdleAsync(limit.Token);
        Assert.Equal(3, Volatile.Read(ref countA));
    }

    [Fact]
    public async Task Two_prefixes_that_share_a_stream_name_starting_at_once_leave_it_to_one_of_them()
    {
        // The refusal read the stream, then created or updated it: two such prefixes at the same moment could both
        // find none, and the second update took the stream from the first. Then (CI, stop 26) nats-server 2.9 itself
        // let both creations succeed now and then, the later one taking the name: both runs went on, one of them
        // publishing into a stream nobody reads. The broker's race is rare, so the pair is raced many times.
        await using var server = await NatsServer.StartAsync();
        for (var pair = 0; pair < 24; pair++)
        {
            await using var busA = await Buses.ConnectAsync(Buses.Options(server, $"race-{pair}") with { PublishTimeout = TimeSpan.FromSeconds(5) });
            await using var busB = await Buses.ConnectAsync(Buses.Options(server, $"race_{pair}") with { PublishTimeout = TimeSpan.FromSeconds(5) });
            // Both have looked and found no stream before either creates one, and both have tried to create it
            // before either looks again.
            using var bothLooked = new Barrier(2);
            using var bothCreated = new Barrier(2);
            foreach (var bus in new[] { busA, busB })
            {
                bus.AfterStreamLookup = _ => Task.Run(() => bothLooked.SignalAndWait(TimeSpan.FromSeconds(10)));
                bus.AfterStreamCreation = _ => Task.Run(() => bothCreated.SignalAndWait(TimeSpan.FromSeconds(10)));
            }
            var outcomes = await Task.WhenAll(
                Outcome(busA.PublishAsync(Pack, new JsonObject { ["domain_id"] = "d", ["sequence"] = 1 }).AsTask()),
                Outcome(busB.PublishAsync(Pack, new JsonObject { ["domain_id"] = "d", ["sequence"] = 1 }).AsTask()));
            Assert.True(outcomes.Count(o => o is null) == 1, $"pair {pair}: {string.Join(" | ", outcomes.Select(o => o?.Message ?? "published"))}");
            var refusal = Assert.IsType<InvalidInputException>(outcomes.Single(o => o is not null));
            Assert.Contains("belongs to another prefix", refusal.Message, StringComparison.Ordinal);
        }

        static async Task<Exception?> Outcome(Task publish)
        {
            try
            {
                await publish;
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }
    }
}
