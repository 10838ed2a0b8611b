using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using NATS.Client.Core;
using NATS.Client.JetStream;

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

    [Fact]
    public async Task A_pack_stored_before_under_the_id_domain_colon_sequence_is_not_stored_again()
    {
        // README: "a publish retried with the same `domain_id:sequence` (`Nats-Msg-Id`) within the stream's duplicate
        // window is stored once". A domain that talks to the broker itself (another language) sends that id; the same
        // pack published through this bus must be recognised as the same message, not stored and applied twice.
        var options = Buses.Options(fixture.Require());
        await using var bus = await Buses.ConnectAsync(options);
        await bus.EnsureStreamAsync("federation.policy_pack", CancellationToken.None);
        var body = JsonSerializer.SerializeToUtf8Bytes(Buses.PolicyPack("d1", 7));
        await bus.JetStream.PublishAsync(NatsSubjects.Subject(options.SubjectPrefix, "federation.policy_pack"), body, headers: new NatsHeaders { ["Nats-Msg-Id"] = "d1:7" });

        await bus.PublishAsync("federation.policy_pack", Buses.PolicyPack("d1", 7));
        await bus.WaitForIdleAsync().WaitAsync(Buses.Patience);

        Assert.Equal(1, bus.NatsStats.DuplicatesSuppressed);
        var stream = await bus.JetStream.GetStreamAsync(NatsSubjects.StreamName(options.SubjectPrefix, "federation.policy_pack"));
        Assert.Equal(1, stream.Info.State.Messages);
    }
}
