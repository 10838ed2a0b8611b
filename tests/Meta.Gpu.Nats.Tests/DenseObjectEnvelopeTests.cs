using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A large vector travels in the object store, but the subscriber receives the update as it was published,
/// as it would inline: the reference to the object (<c>vector_object</c>: bucket, name, SHA-256, size) is the
/// transport's, never a field of the payload.</summary>
public sealed class DenseObjectEnvelopeTests
{
    [Theory]
    [InlineData(64)]
    [InlineData(4096)]
    public async Task A_dense_update_arrives_with_the_fields_it_was_published_with_and_no_others(int d)
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await using var bus = await Buses.ConnectAsync(options);
        var got = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = bus.Subscribe("federation.dense_update", (e, _) =>
        {
            got.TrySetResult(BusPayload.AsObject(e.Payload, e.Topic));
            return ValueTask.CompletedTask;
        });
        await bus.WhenSubscribedAsync();
        var update = Buses.DenseUpdate("site-1", 1, 2f, d);
        update["metrics"] = new JsonObject { ["gain_p50"] = 0.25 };

        await bus.PublishAsync("federation.dense_update", update);

        var payload = await got.Task.WaitAsync(Buses.Patience);
        Assert.Equal(["confidence", "domain_id", "metrics", "sequence", "vector"], payload.Select(p => p.Key).Order());
        Assert.Equal(d == 4096 ? 1 : 0, bus.NatsStats.ObjectsFetched);
    }
}
