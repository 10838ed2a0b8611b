using System.Diagnostics;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// A work-queue stream takes one consumer per topic: a second aggregator (another durable name) on the same prefix is
/// refused in words that name the consumer in the way, its bus stops without waiting for the subscription it never
/// had, and a finished run can delete its consumer so that the next aggregator can start there.
/// </summary>
public sealed class WorkQueueConsumerTests
{
    private const string Dense = "federation.dense_update";
    private const string Pack = "federation.policy_pack";

    [Fact]
    public async Task A_topic_another_durable_consumer_reads_is_refused_naming_it_and_the_drain_does_not_wait_for_it()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        await using var first = await Buses.ConnectAsync(options with { DurableName = "first_aggregator" });
        using var taken = first.Subscribe(Dense, (_, _) => ValueTask.CompletedTask);
        await first.WhenSubscribedAsync();

        var second = await Buses.ConnectAsync(options with { DurableName = "second_aggregator" });
        try
        {
            using var refused = second.Subscribe(Dense, (_, _) => ValueTask.CompletedTask);
            var error = await Assert.ThrowsAsync<InvalidInputException>(() => second.WhenSubscribedAsync());
            // The broker's own words were "filtered consumer not unique on workqueue stream".
            Assert.Contains($"prefix '{options.SubjectPrefix}': {Dense} is already read by another aggregator's durable consumer 'first_aggregator'", error.Message, StringComparison.Ordinal);
            Assert.Contains($"nats consumer rm {NatsSubjects.StreamName(options.SubjectPrefix, Dense)} first_aggregator", error.Message, StringComparison.Ordinal);
            Assert.Contains("another --prefix", error.Message, StringComparison.Ordinal);

            // The drain threw the refusal again and again until its time-out (`serve` waited 5 s after its error).
            var clock = Stopwatch.StartNew();
            await second.ShutdownAsync(TimeSpan.FromSeconds(30));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the shutdown took {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task Deleting_the_durable_consumers_after_the_shutdown_frees_the_topics_for_another_aggregator()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        var finished = await Buses.ConnectAsync(options with { DurableName = "finished_run" });
        try
        {
            using (finished.Subscribe(Dense, (_, _) => ValueTask.CompletedTask))
            using (finished.Subscribe(Pack, (_, _) => ValueTask.CompletedTask))
            {
                await finished.WhenSubscribedAsync();
                // A running feed would make its consumer again at once.
                await Assert.ThrowsAsync<InvalidOperationException>(() => finished.DeleteDurableConsumersAsync());
            }
            await finished.ShutdownAsync(TimeSpan.FromSeconds(10));
            var deleted = await finished.DeleteDurableConsumersAsync();
            Assert.Equal(
                new[] { $"{NatsSubjects.StreamName(options.SubjectPrefix, Dense)}/finished_run", $"{NatsSubjects.StreamName(options.SubjectPrefix, Pack)}/finished_run" },
                deleted);
            // Each once: a second call finds nothing of its own left.
            Assert.Empty(await finished.DeleteDurableConsumersAsync());
        }
        finally
        {
            await finished.DisposeAsync();
        }

        await using var next = await Buses.ConnectAsync(options with { DurableName = "next_aggregator" });
        using var dense = next.Subscribe(Dense, (_, _) => ValueTask.CompletedTask);
        using var packs = next.Subscribe(Pack, (_, _) => ValueTask.CompletedTask);
        await next.WhenSubscribedAsync();
    }
}
