using System.Text.Json.Nodes;
using Meta.Gpu.Nats.Dense;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Meta.Gpu.Nats.Tests;

/// <summary>An inline dense message is the envelope's length, the envelope, then exactly one §11 record (DESIGN §11:
/// header, the D values, the SHA-256). A frame whose length field runs past the message, or whose record is followed
/// by stray bytes, is malformed: rejected as such (an <see cref="InvalidInputException"/>, which the bus logs, counts
/// and terminates), never delivered, and the topic goes on.</summary>
public sealed class DenseInlineFrameTests
{
    private static byte[] Frame() =>
        DensePayload.FrameInline(new JsonObject { ["domain_id"] = "a", ["sequence"] = 1 }, DensePriorFile.ToBytes([1f, 2f], 1));

    [Fact]
    public void An_envelope_length_up_to_the_end_of_the_message_is_read_and_one_past_it_is_malformed()
    {
        var frame = Frame();
        var (_, blob) = DensePayload.ReadInline(frame);
        Assert.Equal(DensePriorFile.ToBytes([1f, 2f], 1), blob.ToArray());

        foreach (var past in new[] { 1, 2, 4 })
        {
            var bad = (byte[])frame.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bad, frame.Length - 4 + past);
            var e = Assert.Throws<InvalidInputException>(() => DensePayload.ReadInline(bad));
            Assert.Contains("exceeds the message", e.Message);
        }
    }

    [Fact]
    public async Task An_inline_dense_message_with_bytes_after_its_checksum_is_rejected_and_the_feed_goes_on()
    {
        const string topic = "federation.dense_update";
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        await using var aggregator = await Buses.ConnectAsync(options);
        var delivered = new List<long>();
        using var _ = aggregator.Subscribe(topic, (e, _) =>
        {
            lock (delivered) delivered.Add(BusPayload.AsObject(e.Payload, topic)["sequence"]!.GetValue<long>());
            return ValueTask.CompletedTask;
        });
        await aggregator.WaitForIdleAsync();

        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var body = DensePayload.FrameInline(new JsonObject { ["domain_id"] = "odd", ["sequence"] = 1, ["confidence"] = 0.5 },
                [.. DensePriorFile.ToBytes([1f, 2f, 3f], 1), 0]);
            var ack = await new NatsJSContext(raw).PublishAsync($"{options.SubjectPrefix}.{topic}", body,
                headers: new NatsHeaders { ["Meta-Gpu-Kind"] = "dense-inline" });
            ack.EnsureSuccess();
        }
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(topic, new Meta.Gpu.Learning.DenseUpdate("odd", 2, 0.5, new(), [1f, 2f, 3f]));

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
