namespace Meta.Gpu.Nats.Tests;

/// <summary>A broker whose max_payload is below the object store's usual chunk (128 KiB): a large vector must still
/// go through the object store in chunks the broker takes.</summary>
public sealed class DenseSmallMaxPayloadTests
{
    [Fact]
    public async Task A_large_vector_travels_through_a_broker_whose_max_payload_is_64_KiB()
    {
        await using var server = await NatsServer.StartAsync(maxPayload: 64 * 1024);
        var options = Buses.Options(server);
        await using var domain = await Buses.ConnectAsync(options);
        await using var aggregator = await Buses.ConnectAsync(options);
        var got = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = aggregator.Subscribe("federation.dense_update", (e, _) =>
        {
            got.TrySetResult(Buses.ReceivedVector(e));
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();

        await domain.PublishAsync("federation.dense_update", Buses.DenseUpdate("site-1", 1, 3f, d: 100_000));

        var vector = await got.Task.WaitAsync(Buses.Patience);
        Assert.Equal(100_000, vector.Length);
        Assert.All(vector, v => Assert.Equal(3f, v));
        Assert.Equal(1, domain.NatsStats.ObjectsPut);
    }
}
