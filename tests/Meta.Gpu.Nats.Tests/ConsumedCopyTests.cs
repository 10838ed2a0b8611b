using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.ObjectStore;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// Found by a CI run under load: a dense message waiting in a pull behind a slow fetch outlived its ack wait, the
/// broker delivered it again, the first delivery was consumed (which deletes its object), and the second copy, finding
/// no object, was logged as an error and counted as a rejected message, although its update had been applied once.
/// </summary>
public sealed class ConsumedCopyTests
{
    private const string Topic = "federation.dense_update";

    private static NatsBusOptions Options(NatsServer server) =>
        Buses.Options(server) with { InlineLimitBytes = 64 * 1024, AckWait = TimeSpan.FromSeconds(1) };

    private static (List<string> Seen, Task Both) Record(NatsEventBus aggregator)
    {
        var seen = new List<string>();
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        aggregator.Subscribe(Topic, (e, _) =>
        {
            var domain = BusPayload.AsObject(e.Payload, Topic)["domain_id"]!.GetValue<string>();
            lock (seen)
            {
                seen.Add(domain);
                if (seen.Distinct().Count() == 2) both.TrySetResult();
            }
            return ValueTask.CompletedTask;
        });
        return (seen, both.Task);
    }

    [Fact]
    public async Task A_copy_delivered_again_after_its_message_was_consumed_is_dropped_without_an_error()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Options(server);
        await using var domain = await Buses.ConnectAsync(options);
        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 1, 1f, d: 100_000));
        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-2", 1, 2f, d: 100_000));
        var bucket = await domain.ObjectStoreAsync(CancellationToken.None);
        var site2 = (await Buses.ObjectNamesAsync(domain)).Where(name => name.Contains("site-2", StringComparison.Ordinal)).ToList();

        await using var aggregator = await Buses.ConnectAsync(options);
        var fetches = 0;
        aggregator.BeforeObjectFetch = async token =>
        {
            switch (Interlocked.Increment(ref fetches))
            {
                case 1:
                    // site-1's fetch outlasts the ack wait three times over; site-2, pulled with it, waits behind it
                    // without anyone telling the broker it is in progress, so the broker delivers it again.
                    await Task.Delay(TimeSpan.FromSeconds(3.5), token);
                    break;
                case 2:
                    break; // site-2's first delivery
                default:
                    // A later copy reads only once the first delivery's acknowledgement has deleted the object.
                    while (!(await bucket.GetInfoAsync(site2.Single(), showDeleted: true, token)).Deleted)
                        await Task.Delay(50, token);
                    break;
            }
        };
        var (seen, both) = Record(aggregator);
        await both.WaitAsync(Buses.Patience);
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);

        lock (seen) Assert.Equal(["site-1", "site-2"], seen);
        Assert.True(aggregator.NatsStats.Redelivered >= 1, $"redelivered {aggregator.NatsStats.Redelivered}");
        Assert.True(aggregator.NatsStats.ConsumedCopiesDropped >= 1, $"dropped {aggregator.NatsStats.ConsumedCopiesDropped}");
        Assert.Equal(0, aggregator.NatsStats.Rejected);
        Assert.Equal(0, aggregator.Stats.Errors);
    }

    [Fact]
    public async Task An_object_that_is_not_in_the_bucket_at_all_is_still_rejected_as_lost()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Options(server) with { AckWait = TimeSpan.FromSeconds(30) };
        await using var domain = await Buses.ConnectAsync(options);
        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 1, 1f, d: 100_000));
        // What object_max_age leaves: the object's metadata and chunks are gone, with no delete marker.
        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var purged = await new NatsJSContext(raw).PurgeStreamAsync($"OBJ_{options.ObjectBucket}", new StreamPurgeRequest());
            Assert.True(purged.Purged >= 2, $"purged {purged.Purged}");
        }
        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-2", 1, 2f, d: 100));

        await using var aggregator = await Buses.ConnectAsync(options);
        var seen = new List<string>();
        aggregator.Subscribe(Topic, (e, _) =>
        {
            lock (seen) seen.Add(BusPayload.AsObject(e.Payload, Topic)["domain_id"]!.GetValue<string>());
            return ValueTask.CompletedTask;
        });
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);

        lock (seen) Assert.Equal(["site-2"], seen);
        Assert.Equal(1, aggregator.NatsStats.Rejected);
        Assert.Equal(0, aggregator.NatsStats.ConsumedCopiesDropped);
    }

    [Fact]
    public async Task An_object_not_found_whose_lookup_the_broker_does_not_answer_is_given_back_not_rejected()
    {
        // Rejected, the message was terminated: its update lost for good although the broker had only been too slow to
        // say whether the object was deleted.
        await using var server = await NatsServer.StartAsync();
        var options = Options(server) with { AckWait = TimeSpan.FromSeconds(30), FetchStallTimeout = NatsBusOptions.MinFetchStallTimeout };
        await using var domain = await Buses.ConnectAsync(options);
        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 1, 1f, d: 100_000));
        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
            await new NatsJSContext(raw).PurgeStreamAsync($"OBJ_{options.ObjectBucket}", new StreamPurgeRequest());

        var log = new Meta.Gpu.Tests.Support.RecordingLogger();
        await using var aggregator = await NatsEventBus.ConnectAsync(options, logger: log);
        var looked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        aggregator.BeforeObjectLookup = token =>
        {
            // Frozen for twice the lookup's limit: the lookup goes unanswered.
            server.Freeze();
            _ = Task.Delay(2 * options.FetchStallTimeout).ContinueWith(_ => { server.Thaw(); looked.TrySetResult(); }, TaskScheduler.Default);
            return Task.CompletedTask;
        };
        var seen = 0;
        aggregator.Subscribe(Topic, (_, _) => { Interlocked.Increment(ref seen); return ValueTask.CompletedTask; });
        await looked.Task.WaitAsync(Buses.Patience);
        var deadline = DateTime.UtcNow + Buses.Patience;
        while (!log.Entries.Any(e => e.Message.Contains("given back", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            await Task.Delay(20);

        var warning = Assert.Single(log.AtLeast(Microsoft.Extensions.Logging.LogLevel.Warning));
        Assert.Contains("was not found and the broker did not answer within 1 s whether it was deleted; the message is given back", warning.Message, StringComparison.Ordinal);
        Assert.Equal(0, aggregator.NatsStats.Rejected);
        Assert.Equal(0, Volatile.Read(ref seen));
    }
}
