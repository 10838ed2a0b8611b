using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Meta.Gpu.Storage;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore.Models;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A dense message whose vector waits in the object store carries the object's name, its SHA-256 and its
/// size; the size only presizes the receiver's buffer. The object itself, verified against the SHA-256, is the
/// vector: a size that is absent, wrong or absurd (another sender, a corrupt or hostile message) must neither reject
/// the update, nor end the topic's feed, nor reserve the memory it names.</summary>
public sealed class DenseObjectSizeHintTests
{
    private const string Topic = "federation.dense_update";

    [Theory]
    [InlineData("absent")]
    [InlineData("exact")]
    [InlineData("half")]
    [InlineData("double")]
    [InlineData("negative")]
    [InlineData("3 GB")]
    public async Task A_dense_object_message_is_delivered_whatever_its_size_hint_says(string hint)
    {
        var vector = Enumerable.Range(0, 4096).Select(i => i * 0.25f).ToArray();
        var bytes = DensePriorFile.ToBytes(vector, 7);
        JsonNode? size = hint switch
        {
            "absent" => null,
            "exact" => bytes.Length,
            "half" => bytes.Length / 2,
            "double" => bytes.Length * 2,
            "negative" => -1,
            "3 GB" => 3_000_000_000L,
            _ => throw new ArgumentOutOfRangeException(nameof(hint)),
        };

        var received = await PublishAndReceiveAsync(bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)), size);

        Assert.Equal(vector, received.Vector);
        Assert.Equal(0, received.Rejected);
    }

    [Fact]
    public async Task A_dense_object_message_whose_SHA_256_is_written_in_upper_case_hex_is_delivered()
    {
        var vector = Enumerable.Range(0, 4096).Select(i => -i * 0.5f).ToArray();
        var bytes = DensePriorFile.ToBytes(vector, 3);

        var received = await PublishAndReceiveAsync(bytes, Convert.ToHexString(SHA256.HashData(bytes)), bytes.Length);

        Assert.Equal(vector, received.Vector);
        Assert.Equal(0, received.Rejected);
    }

    /// <summary>Stores <paramref name="bytes"/> in small chunks (so that a buffer grown chunk by chunk ends larger than
    /// the object), publishes a dense-object message for it, then a second dense update; returns what the aggregator
    /// received for the first once the second has arrived (the feed went on).</summary>
    private static async Task<(float[]? Vector, long Rejected)> PublishAndReceiveAsync(byte[] bytes, string sha256, JsonNode? size)
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        await using var aggregator = await Buses.ConnectAsync(options);
        float[]? first = null;
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = aggregator.Subscribe(Topic, (e, _) =>
        {
            if (e.Payload is JsonObject { } payload && payload["sequence"]!.GetValue<long>() == 2) second.TrySetResult();
            else first = Buses.ReceivedVector(e);
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();

        var name = $"{options.SubjectPrefix}/{Topic}/hinted:1";
        var store = await aggregator.ObjectStoreAsync(CancellationToken.None);
        await store.PutAsync(new ObjectMetadata { Name = name, Options = new MetaDataOptions { MaxChunkSize = 1000 } }, new MemoryStream(bytes));
        var reference = new JsonObject { ["bucket"] = options.ObjectBucket, ["name"] = name, ["sha256"] = sha256 };
        if (size is not null) reference["size"] = size;
        var body = new JsonObject { ["domain_id"] = "hinted", ["sequence"] = 1, ["confidence"] = 1.0, ["vector_object"] = reference };
        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var ack = await new NatsJSContext(raw).PublishAsync($"{options.SubjectPrefix}.{Topic}", Encoding.UTF8.GetBytes(body.ToJsonString()),
                headers: new NatsHeaders { ["Meta-Gpu-Kind"] = "dense-object" });
            ack.EnsureSuccess();
        }
        await using (var domain = await Buses.ConnectAsync(options))
            await domain.PublishAsync(Topic, Buses.DenseUpdate("other", 2, 1f, d: 16));

        await second.Task.WaitAsync(Buses.Patience);
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);
        return (first, aggregator.NatsStats.Rejected);
    }
}
