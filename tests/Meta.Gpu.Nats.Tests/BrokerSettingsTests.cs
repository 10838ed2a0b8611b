using NATS.Client.JetStream.Models;

namespace Meta.Gpu.Nats.Tests;

/// <summary>
/// What the bus asks of the broker (README, Beyond one machine): domain work is acknowledged explicitly and "redelivered
/// to the restarted aggregator after `--ack-wait`" (the consumer's ack wait is the options'); large vectors wait in the
/// object bucket, file-stored, for at most <see cref="NatsBusOptions.ObjectMaxAge"/> ("expired after `ObjectMaxAge`,
/// 24 h"). The crash tests pass with any ack wait short enough for their patience, and the dense tests with a bucket
/// kept in memory for ever.
/// </summary>
public sealed class BrokerSettingsTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    private const string Pack = "federation.policy_pack";
    private const string Dense = "federation.dense_update";

    [Fact]
    public async Task The_durable_consumer_takes_explicit_acknowledgements_within_the_ack_wait_of_the_options()
    {
        var options = Buses.Options(fixture.Require()) with { AckWait = TimeSpan.FromSeconds(7), DurableName = "settings_agent" };
        await using var bus = await Buses.ConnectAsync(options);
        using var _ = bus.Subscribe(Pack, (_, _) => ValueTask.CompletedTask);
        await bus.WhenSubscribedAsync().WaitAsync(Buses.Patience);

        var consumer = await bus.JetStream.GetConsumerAsync(NatsSubjects.StreamName(options.SubjectPrefix, Pack), "settings_agent");
        Assert.Equal(TimeSpan.FromSeconds(7), consumer.Info.Config.AckWait);
        Assert.Equal(ConsumerConfigAckPolicy.Explicit, consumer.Info.Config.AckPolicy);
    }

    [Fact]
    public async Task The_bucket_of_large_vectors_is_file_stored_and_keeps_an_object_for_object_max_age()
    {
        var bucket = "settings_" + Guid.NewGuid().ToString("N")[..8];
        var options = Buses.Options(fixture.Require()) with { ObjectBucket = bucket, ObjectMaxAge = TimeSpan.FromHours(3) };
        await using var bus = await Buses.ConnectAsync(options);
        // A subscriber of a dense topic makes the bucket.
        using var _ = bus.Subscribe(Dense, (_, _) => ValueTask.CompletedTask);
        await bus.WhenSubscribedAsync().WaitAsync(Buses.Patience);

        var stream = await bus.JetStream.GetStreamAsync($"OBJ_{bucket}");
        Assert.Equal(TimeSpan.FromHours(3), stream.Info.Config.MaxAge);
        Assert.Equal(StreamConfigStorage.File, stream.Info.Config.Storage);
    }
}
