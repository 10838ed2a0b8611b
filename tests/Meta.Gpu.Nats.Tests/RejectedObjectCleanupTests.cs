using Meta.Gpu.Storage;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A dense message rejected for its object (SHA-256 mismatch, or a record that does not read) is terminated:
/// never delivered again, so nothing would ever fetch or delete its object, which stayed in the bucket (a whole vector,
/// up to 64 MB) until the bucket's max age (24 h).</summary>
public sealed class RejectedObjectCleanupTests
{
    private const string Topic = "federation.dense_update";

    [Fact]
    public async Task The_object_of_a_message_rejected_for_a_SHA_256_mismatch_is_deleted()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await using (var domain = await Buses.ConnectAsync(options))
        {
            await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 5, 1f));
            await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
        }
        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            // Something overwrites the object between publish and consumption.
            var store = await new NatsObjContext(new NatsJSContext(raw)).GetObjectStoreAsync(options.ObjectBucket);
            await store.PutAsync($"{options.SubjectPrefix}/{Topic}/site-1:5", DensePriorFile.ToBytes(new float[4096], 5));
        }

        await using var aggregator = await Buses.ConnectAsync(options);
        using var _ = aggregator.Subscribe(Topic, (_, _) => ValueTask.CompletedTask);
        await AssertRejectedAndBucketEmptied(aggregator);
    }

    [Fact]
    public async Task The_object_of_a_message_rejected_for_a_record_that_does_not_read_is_deleted()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await using var aggregator = await Buses.ConnectAsync(options);
        using var _ = aggregator.Subscribe(Topic, (_, _) => ValueTask.CompletedTask);
        await aggregator.WhenSubscribedAsync();

        // A sender whose record is broken before it was stored: the object's digest matches the message's.
        var bytes = DensePriorFile.ToBytes(new float[4096], 1);
        bytes[DensePriorFile.HeaderSize + 1] ^= 0x10;
        var name = $"{options.SubjectPrefix}/{Topic}/broken:1";
        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var js = new NatsJSContext(raw);
            var store = await new NatsObjContext(js).GetObjectStoreAsync(options.ObjectBucket);
            await store.PutAsync(name, bytes);
            var body = new System.Text.Json.Nodes.JsonObject
            {
                ["domain_id"] = "broken",
                ["sequence"] = 1,
                ["vector_object"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["bucket"] = options.ObjectBucket,
                    ["name"] = name,
                    ["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)),
                    ["size"] = bytes.Length,
                },
            };
            var ack = await js.PublishAsync($"{options.SubjectPrefix}.{Topic}", System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()),
                headers: new NatsHeaders { ["Meta-Gpu-Kind"] = "dense-object" });
            ack.EnsureSuccess();
        }
        await AssertRejectedAndBucketEmptied(aggregator);
    }

    private static async Task AssertRejectedAndBucketEmptied(NatsEventBus aggregator)
    {
        var deadline = DateTime.UtcNow + Buses.Patience;
        while (aggregator.NatsStats.Rejected == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(1, aggregator.NatsStats.Rejected);
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await Buses.ObjectNamesAsync(aggregator)).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Empty(await Buses.ObjectNamesAsync(aggregator));
        Assert.Equal(0, aggregator.Stats.Delivered);
    }
}
