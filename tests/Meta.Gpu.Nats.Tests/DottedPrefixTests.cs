using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

/// <summary>two deployments on one broker with different prefixes must not see each other's messages, even
/// when one prefix is the other plus a token (both were accepted as valid prefixes).</summary>
public sealed class DottedPrefixTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task A_prefix_extended_by_a_token_does_not_receive_the_other_prefixs_topic()
    {
        var server = fixture.Require();
        var a = Buses.Options(server);
        var b = Buses.Options(server, a.SubjectPrefix + ".meta");
        await using var busA = await Buses.ConnectAsync(a);
        NatsEventBus busB;
        try
        {
            busB = await Buses.ConnectAsync(b);
        }
        catch (InvalidInputException)
        {
            return; // refused up front: isolation kept
        }
        await using var _b = busB;
        var seenByA = new List<string?>();
        using var _ = busA.Subscribe("meta.telemetry", (e, _) =>
        {
            lock (seenByA) seenByA.Add(BusPayload.AsObject(e.Payload, e.Topic)["from"]?.GetValue<string>());
            return ValueTask.CompletedTask;
        });
        await busA.WhenSubscribedAsync();
        await busB.PublishAsync("telemetry", new JsonObject { ["from"] = "B" });
        await busA.PublishAsync("meta.telemetry", new JsonObject { ["from"] = "A" });
        await busA.WaitForIdleAsync().WaitAsync(Buses.Patience);
        await Task.Delay(500);
        lock (seenByA) Assert.Equal(["A"], seenByA);
    }
}
