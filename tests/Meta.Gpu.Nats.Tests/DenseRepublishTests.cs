using Meta.Gpu.Runtime;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A dense update published again under the same <c>domain_id:sequence</c> (a domain retrying a publish it
/// believed lost, as the sine worker does) while its vector travels through the object store: the stream stores the
/// message once, and the first copy must arrive as it would inline; the retry's object must not stay behind.</summary>
public sealed class DenseRepublishTests
{
    private const string Topic = "federation.dense_update";

    private static NatsBusOptions Options(NatsServer server) => Buses.Options(server) with { InlineLimitBytes = 1024 };

    [Fact]
    public async Task A_retried_publish_with_another_vector_leaves_the_stored_update_deliverable()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Options(server);
        await using (var domain = await Buses.ConnectAsync(options))
        {
            await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 5, 1f));
            await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
            // Recomputed after a restart: same id, other values. The stream drops it as a duplicate.
            await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 5, 2f));
            await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
            Assert.Equal(1, domain.NatsStats.DuplicatesSuppressed);
        }

        await using var aggregator = await Buses.ConnectAsync(options);
        var got = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = aggregator.Subscribe(Topic, (e, _) =>
        {
            got.TrySetResult(Buses.ReceivedVector(e));
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();
        await aggregator.WaitForIdleAsync().WaitAsync(Buses.Patience);

        Assert.Equal(0, aggregator.NatsStats.Rejected);
        Assert.True(got.Task.IsCompletedSuccessfully, "the stored update was never delivered");
        Assert.All(await got.Task, v => Assert.Equal(1f, v)); // the first stored wins, as inline
    }

    [Fact]
    public async Task A_retried_publish_after_the_update_was_consumed_leaves_no_object_in_the_bucket()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Options(server);
        await using var domain = await Buses.ConnectAsync(options);
        await using var aggregator = await Buses.ConnectAsync(options);
        var delivered = 0;
        using var _ = aggregator.Subscribe(Topic, (_, _) =>
        {
            Interlocked.Increment(ref delivered);
            return ValueTask.CompletedTask;
        });
        await aggregator.WhenSubscribedAsync();

        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 5, 1f));
        await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
        var deadline = DateTime.UtcNow + Buses.Patience;
        // Consumed: delivered, acknowledged and its object deleted.
        while ((Volatile.Read(ref delivered) == 0 || (await Buses.ObjectNamesAsync(domain)).Count > 0) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Empty(await Buses.ObjectNamesAsync(domain));

        await domain.PublishAsync(Topic, Buses.DenseUpdate("site-1", 5, 1f));
        await domain.WaitForIdleAsync().WaitAsync(Buses.Patience);
        Assert.Equal(1, domain.NatsStats.DuplicatesSuppressed);
        // The duplicate's object is referred to by no stored message: nothing would ever fetch or delete it.
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await Buses.ObjectNamesAsync(domain)).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Empty(await Buses.ObjectNamesAsync(domain));
        Assert.Equal(1, Volatile.Read(ref delivered));
    }
}
