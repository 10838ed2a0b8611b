using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Nats.Tests;

public sealed class MessageIdHeaderTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task A_domain_id_with_a_line_break_is_refused_at_publish_and_later_work_goes_on()
    {
        var server = fixture.Require();
        var options = Buses.Options(server) with { PublishTimeout = TimeSpan.FromSeconds(5) };
        await using var bus = await Buses.ConnectAsync(options);
        var got = new List<string>();
        using var _ = bus.Subscribe("federation.policy_pack", (e, _) =>
        {
            lock (got) got.Add(BusPayload.AsObject(e.Payload, e.Topic)["domain_id"]!.GetValue<string>());
            return ValueTask.CompletedTask;
        });
        await bus.WhenSubscribedAsync();
        Exception? error = null;
        try
        {
            await bus.PublishAsync("federation.policy_pack", Buses.PolicyPack("bad\r\nNats-Expected-Stream: x", 1));
        }
        catch (Exception e)
        {
            error = e;
        }
        await bus.PublishAsync("federation.policy_pack", Buses.PolicyPack("good", 1));
        Exception? idle = null;
        try { await bus.WaitForIdleAsync().WaitAsync(Buses.Patience); } catch (Exception e) { idle = e; }
        lock (got) Assert.Equal(["good"], got);
        Assert.True(error is InvalidInputException, $"publish threw {error?.GetType().Name}: {error?.Message}; idle threw {idle?.GetType().Name}: {idle?.Message}");
    }
}
