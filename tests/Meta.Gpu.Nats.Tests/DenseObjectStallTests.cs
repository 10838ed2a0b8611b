using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.ObjectStore;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// Found by a soak of <c>serve</c>: a large vector's object whose chunks are purged after the receiver read its info
/// (a redelivered copy fetching while the first delivery's acknowledgement deletes the object) left the object
/// store's read waiting for chunks for ever; the feed kept telling the broker the message was in progress, so it was
/// never redelivered, and every later dense update of the topic waited behind it (the backlog grew by every
/// domain's update each round, the bucket to 673 MB).
/// </summary>
public sealed class DenseObjectStallTests
{
    private const string Topic = "federation.dense_update";

    private static NatsBusOptions Options(NatsServer server) =>
        Buses.Options(server) with { InlineLimitBytes = 64 * 1024, AckWait = TimeSpan.FromSeconds(2), FetchStallTimeout = TimeSpan.FromSeconds(2) };

    /// <summary>Publishes site-1's large vector, purges its chunks and publishes site-2's behind it: site-1's message
    /// now meets what a fetch meets when the object is deleted between its info lookup and its chunk read (the
    /// metadata still names the object, its chunks are gone). Returns the publishing bus.</summary>
    private static async Task<NatsEventBus> PublishBehindAChunklessObjectAsync(NatsServer server, NatsBusOptions options)
    {
        var domain = await Buses.ConnectAsync(options);
        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 1, 1f, d: 100_000));
        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var bucket = options.ObjectBucket;
            var purged = await new NatsJSContext(raw).PurgeStreamAsync($"OBJ_{bucket}", new StreamPurgeRequest { Filter = $"$O.{bucket}.C.>" });
            Assert.True(purged.Purged >= 1, $"purged {purged.Purged}");
        }
        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-2", 1, 2f, d: 100_000));
        Assert.Equal(2, domain.NatsStats.ObjectsPut);
        return domain;
    }

    private static async Task<(NatsEventBus Aggregator, Task<string> First, List<string> Seen)> SubscribeAsync(NatsBusOptions options)
    {
        var aggregator = await Buses.ConnectAsync(options);
        var seen = new List<string>();
        var first = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        aggregator.Subscribe(Topic, (e, _) =>
        {
            var domain = BusPayload.AsObject(e.Payload, Topic)["domain_id"]!.GetValue<string>();
            lock (seen) seen.Add(domain);
            first.TrySetResult(domain);
            return ValueTask.CompletedTask;
        });
        return (aggregator, first.Task, seen);
    }

    [Fact]
    public async Task An_object_whose_chunks_do_not_come_is_given_back_and_the_updates_behind_it_go_on()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Options(server);
        await using var domain = await PublishBehindAChunklessObjectAsync(server, options);

        var (aggregator, first, _) = await SubscribeAsync(options);
        await using var _ = aggregator;
        Assert.Equal("site-2", await first.WaitAsync(Buses.Patience));
        // Given back, not dropped: the object is still in the bucket, so the message may yet be read.
        // (The work queue drops site-2's message once the broker has its acknowledgement.)
        var stream = await aggregator.JetStream.GetStreamAsync(NatsSubjects.StreamName(options.SubjectPrefix, Topic));
        var deadline = DateTime.UtcNow + Buses.Patience;
        while (stream.Info.State.Messages > 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            await stream.RefreshAsync();
        }
        Assert.Equal(1, stream.Info.State.Messages);
        Assert.Equal(0, aggregator.NatsStats.Rejected);
        // site-1's own verdict, which comes after site-2 went by: the object is there (its info answers), so the copy
        // is given back and offered again, never dropped as a copy of a consumed message (acknowledged: lost).
        deadline = DateTime.UtcNow + Buses.Patience;
        while (aggregator.NatsStats.Redelivered == 0 && aggregator.NatsStats.ConsumedCopiesDropped == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(0, aggregator.NatsStats.ConsumedCopiesDropped);
        Assert.True(aggregator.NatsStats.Redelivered >= 1, "site-1 was never offered again");
        await stream.RefreshAsync();
        Assert.Equal(1, stream.Info.State.Messages);
    }

    [Fact]
    public async Task An_object_deleted_while_it_is_read_drops_that_copy_and_the_updates_behind_it_go_on()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Options(server);
        await using var domain = await PublishBehindAChunklessObjectAsync(server, options);

        // An ack wait longer than the stall: site-2, pulled with site-1 and waiting behind its fetch, is not
        // delivered again meanwhile.
        var (aggregator, first, seen) = await SubscribeAsync(options with { AckWait = TimeSpan.FromSeconds(20), FetchStallTimeout = TimeSpan.FromSeconds(4) });
        await using var _ = aggregator;
        var fetching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        aggregator.BeforeObjectFetch = _ =>
        {
            fetching.TrySetResult();
            return Task.CompletedTask;
        };
        await fetching.Task.WaitAsync(Buses.Patience);
        // The delete that consuming another delivery of the message makes, while this one waits for chunks (or,
        // on a slow machine, before it read the info: the outcome is the same).
        await Task.Delay(500);
        var objects = await Buses.ObjectNamesAsync(domain);
        var bucket = await domain.ObjectStoreAsync(CancellationToken.None);
        await bucket.DeleteAsync(objects.Single(o => o.Contains("site-1", StringComparison.Ordinal)));

        Assert.Equal("site-2", await first.WaitAsync(Buses.Patience));
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);
        // A copy of a consumed message, not a broken one: no error.
        Assert.Equal(1, aggregator.NatsStats.ConsumedCopiesDropped);
        Assert.Equal(0, aggregator.NatsStats.Rejected);
        Assert.Equal(0, aggregator.Stats.Errors);
        Assert.Equal(0, aggregator.NatsStats.Redelivered);
        lock (seen) Assert.Equal(["site-2"], seen);
    }
}
