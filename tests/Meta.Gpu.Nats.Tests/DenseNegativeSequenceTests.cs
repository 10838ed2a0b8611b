using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>The bus carries a dense update whatever its sequence: whether a sequence is usable is the receiver's
/// rule (DESIGN §10: anything not newer than the last applied is ignored), not the transport's. The binary record's
/// round cannot be negative (§11), so a negative sequence is recorded there as 0, and travels as it is in the
/// envelope.</summary>
public sealed class DenseNegativeSequenceTests
{
    [Theory]
    [InlineData(64)]
    [InlineData(4096)]
    public async Task A_dense_update_with_a_negative_sequence_is_published_and_arrives_with_its_sequence(int d)
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server) with { InlineLimitBytes = 1024 };
        await using var bus = await Buses.ConnectAsync(options);
        var got = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = bus.Subscribe("federation.dense_update", (e, _) =>
        {
            got.TrySetResult(BusPayload.AsObject(e.Payload, e.Topic)["sequence"]!.GetValue<long>());
            return ValueTask.CompletedTask;
        });
        await bus.WhenSubscribedAsync();

        await bus.PublishAsync("federation.dense_update", Buses.DenseUpdate("site-1", -3, 1f, d));

        Assert.Equal(-3, await got.Task.WaitAsync(Buses.Patience));
        Assert.Equal(0, bus.NatsStats.Rejected);
    }
}
