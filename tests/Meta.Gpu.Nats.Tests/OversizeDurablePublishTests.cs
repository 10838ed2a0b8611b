using System.Text.Json.Nodes;

namespace Meta.Gpu.Nats.Tests;

/// <summary>a durable message larger than the broker's max payload can never be sent; the error must say so
/// (at the publish, or in the failure), not "not confirmed by the broker".</summary>
public sealed class OversizeDurablePublishTests(NatsServerFixture fixture) : IClassFixture<NatsServerFixture>
{
    [Fact]
    public async Task A_durable_message_over_the_max_payload_is_reported_as_too_large()
    {
        var server = fixture.Require();
        var options = Buses.Options(server) with { PublishTimeout = TimeSpan.FromSeconds(3) };
        await using var bus = await Buses.ConnectAsync(options);
        var pack = Buses.PolicyPack("big", 1);
        pack["blob"] = new string('x', 2 << 20);
        Exception? error = null;
        try
        {
            await bus.PublishAsync("federation.policy_pack", pack);
            await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);
        }
        catch (Exception e)
        {
            error = e;
        }
        Assert.NotNull(error);
        Assert.DoesNotContain("not confirmed by the broker", error!.Message, StringComparison.Ordinal);
    }
}
