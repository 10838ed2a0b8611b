using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A dense message names the object that holds its vector, and the object is deleted once the message is
/// rejected or consumed. The bucket is shared by every prefix on the broker and by every domain of one: a message
/// (malformed, hostile, or another deployment's) that names an object not its own must be rejected without touching
/// it, or the update that object carries is lost (its own message later finds it deleted and is dropped as a
/// consumed copy, silently).</summary>
public sealed class ForeignObjectReferenceTests
{
    private const string Topic = "federation.dense_update";

    [Fact]
    public async Task A_message_naming_another_domains_object_does_not_delete_it()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await PublishForeignReferenceAsync(server, options.SubjectPrefix, $"{options.SubjectPrefix}/{Topic}/site-1:5");
        await using (var domain = await Buses.ConnectAsync(options))
        {
            await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 5, 1f));
            await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
        }

        await using var aggregator = await Buses.ConnectAsync(options);
        var delivered = Collect(aggregator);
        await WaitAsync(() => aggregator.NatsStats.Rejected == 1 && (Count(delivered) > 0 || aggregator.NatsStats.ConsumedCopiesDropped > 0));

        Assert.Equal(0, aggregator.NatsStats.ConsumedCopiesDropped);
        lock (delivered) Assert.Equal(["site-1"], delivered);
    }

    [Fact]
    public async Task A_message_on_another_prefix_naming_this_prefixs_object_does_not_delete_it()
    {
        await using var server = await NatsServer.StartAsync();
        var mine = Buses.Options(server) with { InlineLimitBytes = 1024 };
        var other = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await using (var domain = await Buses.ConnectAsync(mine))
        {
            await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 5, 1f));
            await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
        }
        await PublishForeignReferenceAsync(server, other.SubjectPrefix, $"{mine.SubjectPrefix}/{Topic}/site-1:5");
        await using (var stranger = await Buses.ConnectAsync(other))
        {
            using var _ = stranger.Subscribe(Topic, (_, _) => ValueTask.CompletedTask);
            await WaitAsync(() => stranger.NatsStats.Rejected == 1);
            await stranger.WaitForIdleAsync().WaitAsync(Buses.Patience);
        }

        await using var aggregator = await Buses.ConnectAsync(mine);
        var delivered = Collect(aggregator);
        await WaitAsync(() => Count(delivered) > 0 || aggregator.NatsStats.ConsumedCopiesDropped > 0 || aggregator.NatsStats.Rejected > 0);

        Assert.Equal(0, aggregator.NatsStats.ConsumedCopiesDropped);
        lock (delivered) Assert.Equal(["site-1"], delivered);
    }

    /// <summary>A dense-object message of domain "intruder" on <paramref name="prefix"/> whose reference names
    /// <paramref name="objectName"/> with a digest that is not the object's.</summary>
    private static async Task PublishForeignReferenceAsync(NatsServer server, string prefix, string objectName)
    {
        var body = new JsonObject
        {
            ["domain_id"] = "intruder",
            ["sequence"] = 1,
            ["vector_object"] = new JsonObject
            {
                ["bucket"] = "meta_gpu_dense",
                ["name"] = objectName,
                ["sha256"] = new string('0', 64),
                ["size"] = 100,
            },
        };
        await using var raw = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(raw);
        // The stream is the bus's: made by a bus of that prefix before the raw publish.
        await using (var maker = await Buses.ConnectAsync(Buses.Options(server, prefix)))
            await maker.PublishAsync(Topic, Buses.DenseUpdate("maker", 1, 0f, d: 4));
        var ack = await js.PublishAsync($"{prefix}.{Topic}", System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()),
            headers: new NatsHeaders { ["Meta-Gpu-Kind"] = "dense-object" });
        ack.EnsureSuccess();
    }

    private static List<string> Collect(NatsEventBus bus)
    {
        var delivered = new List<string>();
        bus.Subscribe(Topic, (e, _) =>
        {
            var domain = BusPayload.AsObject(e.Payload, Topic)["domain_id"]!.GetValue<string>();
            if (domain != "maker") lock (delivered) delivered.Add(domain);
            return ValueTask.CompletedTask;
        });
        return delivered;
    }

    private static int Count(List<string> delivered)
    {
        lock (delivered) return delivered.Count;
    }

    private static async Task WaitAsync(Func<bool> done)
    {
        var deadline = DateTime.UtcNow + Buses.Patience;
        while (!done() && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(done(), "timed out");
    }
}
