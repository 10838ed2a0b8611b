using System.Text;
using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using NATS.Client.Core;

namespace Meta.Gpu.Nats.Tests;

/// <summary>A message whose content fails to decode in a way the JSON parser does not catch at once is rejected
/// (logged, counted, a durable one terminated), and the topic goes on delivering: before, the exception ended the
/// topic's feed and nothing more was delivered on it.</summary>
public sealed class MalformedMessageTests
{
    private static string? Tag(object? payload, string topic) => BusPayload.AsObject(payload, topic)["tag"]?.GetValue<string>();

    [Fact]
    public async Task A_telemetry_message_with_an_escape_that_is_no_text_is_rejected_and_the_feed_goes_on()
    {
        await using var server = await NatsServer.StartAsync();
        var options = Buses.Options(server);
        await using var bus = await Buses.ConnectAsync(options);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var after = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = bus.Subscribe("telemetry", (e, _) =>
        {
            var tag = Tag(e.Payload, e.Topic);
            if (tag == "ready") ready.TrySetResult();
            if (tag == "after") after.TrySetResult();
            return ValueTask.CompletedTask;
        });
        // At most once: the broker must hold the subscription before the other connection publishes.
        await bus.PublishAsync("telemetry", new JsonObject { ["tag"] = "ready" });
        await ready.Task.WaitAsync(Buses.Patience);

        await using (var raw = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var subject = NatsSubjects.Subject(options.SubjectPrefix, "telemetry");
            await raw.PublishAsync(subject, Encoding.UTF8.GetBytes("{\"\\ud800\":1}"));
            await raw.PublishAsync(subject, Encoding.UTF8.GetBytes("{\"tag\":\"\\udc00\"}"));
            await raw.PublishAsync(subject, Encoding.UTF8.GetBytes("{\"tag\":\"after\"}"));
            // A round trip: the broker has taken the three before the connection closes.
            await raw.PingAsync();
        }

        await after.Task.WaitAsync(Buses.Patience);
        Assert.Equal(2, bus.NatsStats.Rejected);
    }

    [Fact]
    public Task A_dense_object_message_whose_object_name_is_a_number_is_rejected_and_the_feed_goes_on()
    {
        var envelope = new JsonObject
        {
            ["domain_id"] = "odd", ["sequence"] = 1,
            ["vector_object"] = new JsonObject { ["name"] = 5, ["sha256"] = "00", ["size"] = 16 },
        };
        return RawDenseMessage.IsRejectedAndTheFeedGoesOnAsync(Encoding.UTF8.GetBytes(envelope.ToJsonString()), "dense-object");
    }
}
