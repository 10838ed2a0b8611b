namespace Meta.Gpu.Nats.Tests;

/// <summary>A dense update built in process as a JsonObject whose sequence is a C# int (the natural way to write
/// <c>["sequence"] = 5</c>) carries the message id <c>domain_id:sequence</c>, so a retried publish is stored once.</summary>
public sealed class DenseIntSequenceTests
{
    [Fact]
    public async Task A_dense_update_whose_sequence_is_an_int_published_twice_is_stored_once()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        await using var domain = await Buses.ConnectAsync(options);
        for (var i = 0; i < 2; i++)
        {
            var update = Buses.DenseUpdate("site-1", 0, 1f, d: 64);
            update["sequence"] = 5;
            await domain.PublishAsync("federation.dense_update", update);
        }
        await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);

        Assert.Equal(1, domain.NatsStats.DuplicatesSuppressed);
    }
}
