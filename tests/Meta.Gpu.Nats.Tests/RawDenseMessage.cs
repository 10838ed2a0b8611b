using Meta.Gpu.Serialization;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A dense update message written straight into the stream, past the bus's own encoder, and what must
/// follow when it is malformed.</summary>
internal static class RawDenseMessage
{
    private const string Topic = "federation.dense_update";

    /// <summary>Publishes <paramref name="body"/> as a dense message of <paramref name="kind"/> (the
    /// <c>Meta-Gpu-Kind</c> header: "dense-inline", "dense-object"), then domain "odd"'s valid update of sequence 2,
    /// and asserts that the aggregator's bus rejected the first (counted once) and delivered the second alone.</summary>
    public static async Task IsRejectedAndTheFeedGoesOnAsync(byte[] body, string kind)
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        await using var aggregator = await Buses.ConnectAsync(options);
        var delivered = new List<long>();
        using var _ = aggregator.Subscribe(Topic, (e, _) =>
        {
            lock (delivered) delivered.Add(BusPayload.AsObject(e.Payload, Topic)["sequence"]!.GetValue<long>());
            return ValueTask.CompletedTask;
        });
        await aggregator.WaitForIdleAsync();

        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var ack = await new NatsJSContext(raw).PublishAsync($"{options.SubjectPrefix}.{Topic}", body,
                headers: new NatsHeaders { ["Meta-Gpu-Kind"] = kind });
            ack.EnsureSuccess();
        }
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(Topic, new Meta.Gpu.Learning.DenseUpdate("odd", 2, 0.5, new(), [1f, 2f, 3f]));

        var deadline = DateTime.UtcNow + Buses.Patience;
        while (DateTime.UtcNow < deadline)
        {
            lock (delivered) if (delivered.Contains(2)) break;
            await Task.Delay(50);
        }
        lock (delivered) Assert.Equal([2L], delivered);
        Assert.Equal(1, aggregator.NatsStats.Rejected);
    }
}
