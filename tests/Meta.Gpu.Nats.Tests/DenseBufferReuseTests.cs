using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;

namespace Meta.Gpu.Nats.Tests;

/// <summary>The bus keeps the buffer of its last dense record (publishing) and of its last object fetch (receiving)
/// for the next message of the same size instead of allocating one per message. A kept buffer must never carry one
/// message's bytes into another: every update arrives bit for bit (NaN payloads, -0, subnormals, odd D, a change of
/// D), publishes made at once do not share a buffer, and a corrupted record read into a kept buffer is still rejected
/// by its own checksum, its object deleted.</summary>
public sealed class DenseBufferReuseTests
{
    private const string Topic = "federation.dense_update";

    /// <summary>Bit patterns a float comparison would not tell apart or would lose: NaNs with payloads (quiet,
    /// signalling, negative), both zeros, subnormals, infinities, the extremes.</summary>
    private static readonly uint[] Specials =
    [
        0x7FC00001, 0x7F800001, 0xFFC12345, 0x7FFFFFFF, 0x80000000, 0x00000000, 0x00000001, 0x007FFFFF,
        0x80000001, 0x807FFFFF, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000,
    ];

    /// <summary>A vector of <paramref name="d"/> values, every one different from the same index of another seed's.</summary>
    private static float[] Vector(int d, int seed)
    {
        var random = new Random(seed);
        var bits = new uint[d];
        for (var i = 0; i < d; i++)
            bits[i] = (i + seed) % 3 == 0 ? Specials[(i + 7 * seed) % Specials.Length] : (uint)random.Next() ^ (uint)(seed << 24);
        return MemoryMarshal.Cast<uint, float>(bits).ToArray();
    }

    private static uint[] Bits(float[] vector) => MemoryMarshal.Cast<float, uint>(vector).ToArray();

    private static JsonObject Update(string domain, long sequence, float[] vector) => new()
    {
        ["domain_id"] = domain,
        ["sequence"] = sequence,
        ["confidence"] = 1.0,
        ["vector"] = JsonValue.Create(vector),
    };

    /// <summary>Publishes the updates (one after another, then the rest at once from the same bus), receives them on
    /// another bus, and asserts each arrived bit for bit.</summary>
    private static async Task AssertEachArrivesBitForBitAsync(NatsBusOptions options, int[] sizes, bool viaObjects)
    {
        await using var server = await NatsServer.StartAsync();
        options = options with { Url = server.Url };
        await using var aggregator = await Buses.ConnectAsync(options);
        var received = new Dictionary<string, float[]>();
        using var _ = aggregator.Subscribe(Topic, (e, _) =>
        {
            var payload = BusPayload.AsObject(e.Payload, Topic);
            lock (received) received[$"{payload["domain_id"]!.GetValue<string>()}:{payload["sequence"]!.GetValue<long>()}"] = Buses.ReceivedVector(e);
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();

        var sent = new Dictionary<string, float[]>();
        await using (var domain = await Buses.ConnectAsync(options))
        {
            var sequence = 0;
            foreach (var d in sizes)
            {
                var vector = Vector(d, ++sequence);
                sent[$"a:{sequence}"] = vector;
                await domain.PublishAsync(Topic, Update("a", sequence, vector));
            }
            var together = Enumerable.Range(0, 6).Select(i => (Key: $"b{i}:1", Vector: Vector(sizes[^1], 100 + i))).ToList();
            foreach (var (key, vector) in together) sent[key] = vector;
            await Task.WhenAll(together.Select(t => domain.PublishAsync(Topic, Update(t.Key[..2], 1, t.Vector)).AsTask()));
            await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
            Assert.Equal(viaObjects ? sent.Count : 0, domain.NatsStats.ObjectsPut);
        }

        var deadline = DateTime.UtcNow + Buses.Patience;
        while (DateTime.UtcNow < deadline)
        {
            lock (received) if (received.Count == sent.Count) break;
            await Task.Delay(50);
        }
        lock (received)
        {
            Assert.Equal(sent.Keys.Order(), received.Keys.Order());
            foreach (var (key, vector) in sent) Assert.True(Bits(vector).SequenceEqual(Bits(received[key])), $"{key} (D = {vector.Length}) did not arrive bit for bit");
        }
        Assert.Equal(0, aggregator.NatsStats.Rejected);
    }

    [Fact]
    public Task Updates_through_the_object_store_each_arrive_bit_for_bit_one_after_another_at_once_and_across_a_change_of_D() =>
        AssertEachArrivesBitForBitAsync(new NatsBusOptions { SubjectPrefix = "t" + Guid.NewGuid().ToString("N")[..12], InlineLimitBytes = 1024, AckWait = TimeSpan.FromSeconds(30), ConnectTimeout = TimeSpan.FromSeconds(10) },
            [4099, 4099, 4099, 3001, 5003, 4099], viaObjects: true);

    [Fact]
    public Task Inline_updates_each_arrive_bit_for_bit_one_after_another_at_once_and_across_a_change_of_D() =>
        AssertEachArrivesBitForBitAsync(new NatsBusOptions { SubjectPrefix = "t" + Guid.NewGuid().ToString("N")[..12], AckWait = TimeSpan.FromSeconds(30), ConnectTimeout = TimeSpan.FromSeconds(10) },
            [1001, 1001, 1001, 999, 1003, 1001], viaObjects: false);

    [Fact]
    public async Task A_corrupted_record_fetched_after_a_good_one_is_rejected_by_its_own_checksum_and_its_object_deleted()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await using var aggregator = await Buses.ConnectAsync(options);
        var received = new List<(long Sequence, float[] Vector)>();
        using var _ = aggregator.Subscribe(Topic, (e, _) =>
        {
            lock (received) received.Add((BusPayload.AsObject(e.Payload, Topic)["sequence"]!.GetValue<long>(), Buses.ReceivedVector(e)));
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();
        const int D = 4099;
        var first = Vector(D, 1);
        var last = Vector(D, 3);
        await using var domain = await Buses.ConnectAsync(options);
        await domain.PublishAsync(Topic, Update("a", 1, first));
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);

        // A sender whose record broke before it was stored (one flipped bit in the values): the object's digest matches
        // the message's, so only the record's own SHA-256 tells, read into the buffer the good update left.
        var bytes = DensePriorFile.ToBytes(Vector(D, 2), 2);
        bytes[DensePriorFile.HeaderSize + 4 * (D / 2) + 1] ^= 0x10;
        var name = $"{options.SubjectPrefix}/{Topic}/a:2";
        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var js = new NatsJSContext(raw);
            var store = await new NatsObjContext(js).GetObjectStoreAsync(options.ObjectBucket);
            await store.PutAsync(name, bytes);
            var body = new JsonObject
            {
                ["domain_id"] = "a",
                ["sequence"] = 2,
                ["confidence"] = 1.0,
                ["vector_object"] = new JsonObject
                {
                    ["bucket"] = options.ObjectBucket,
                    ["name"] = name,
                    ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)),
                    ["size"] = bytes.Length,
                },
            };
            var ack = await js.PublishAsync($"{options.SubjectPrefix}.{Topic}", System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()),
                headers: new NatsHeaders { ["Meta-Gpu-Kind"] = "dense-object" });
            ack.EnsureSuccess();
        }
        await domain.PublishAsync(Topic, Update("a", 3, last));

        var deadline = DateTime.UtcNow + Buses.Patience;
        while (DateTime.UtcNow < deadline)
        {
            lock (received) if (received.Count == 2) break;
            await Task.Delay(50);
        }
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);
        lock (received)
        {
            Assert.Equal([1L, 3L], received.Select(r => r.Sequence));
            Assert.True(Bits(first).SequenceEqual(Bits(received[0].Vector)));
            Assert.True(Bits(last).SequenceEqual(Bits(received[1].Vector)));
        }
        Assert.Equal(1, aggregator.NatsStats.Rejected);
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await Buses.ObjectNamesAsync(aggregator)).Contains(name) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.DoesNotContain(name, await Buses.ObjectNamesAsync(aggregator));
    }
}
