using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A dense update without <c>domain_id:sequence</c> has no message id: each one is a message of its own
/// (nothing dedupes it), so each large vector needs an object of its own. Under one shared name the second put
/// replaced the first's vector while its message waited, and the first was rejected for a SHA-256 mismatch.</summary>
public sealed class DenseObjectWithoutMessageIdTests
{
    [Fact]
    public async Task Large_dense_updates_without_a_sequence_each_arrive_with_their_own_vector()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await using (var domain = await Buses.ConnectAsync(options))
        {
            for (var i = 1; i <= 3; i++)
            {
                var update = Buses.DenseUpdate("site-1", 0, i);
                update.Remove("sequence");
                await domain.PublishAsync("federation.dense_update", update);
            }
            await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
            Assert.Equal(3, domain.NatsStats.ObjectsPut);
        }

        await using var aggregator = await Buses.ConnectAsync(options);
        var received = new List<float>();
        using var _ = aggregator.Subscribe("federation.dense_update", (e, _) =>
        {
            lock (received) received.Add(Buses.ReceivedVector(e)[0]);
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();
        var deadline = DateTime.UtcNow + Buses.Patience;
        while (aggregator.Stats.Delivered + aggregator.NatsStats.Rejected + aggregator.NatsStats.ConsumedCopiesDropped < 3 && DateTime.UtcNow < deadline) await Task.Delay(50);
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);

        lock (received) Assert.Equal([1f, 2f, 3f], received.Order());
        Assert.Equal(0, aggregator.NatsStats.Rejected);
    }
}
