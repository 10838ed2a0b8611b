using System.Text.Json.Nodes;
using Meta.Gpu.Conformance.Replayers;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>The bus side of the supervisor and agent replayers: inputs in order, outputs grouped by topic.</summary>
public sealed class BusStepRecorderTests
{
    private static JsonObject Step(params (string Topic, JsonNode? Data)[] events)
    {
        var list = new JsonArray();
        foreach (var (topic, data) in events)
        {
            var item = new JsonObject { ["topic"] = topic };
            if (data is not null) item["data"] = data;
            list.Add(item);
        }
        return new JsonObject { ["events"] = list };
    }

    [Fact]
    public async Task Records_everything_the_component_publishes_in_order_step_by_step()
    {
        await using var bus = new EventBus();
        using var recorder = new BusStepRecorder(bus);
        var componentBus = recorder.ComponentBus;
        // A component: every "in" event is answered on "out.a" and "elsewhere", and each second one also on "out.b".
        var seen = 0;
        using var component = componentBus.Subscribe("in", async (e, ct) =>
        {
            var n = ++seen;
            await componentBus.PublishAsync("out.a", new JsonObject { ["n"] = n }, ct);
            if (n % 2 == 0) await componentBus.PublishAsync("out.b", new JsonObject { ["n"] = n }, ct);
            await componentBus.PublishAsync("elsewhere", new JsonObject { ["n"] = n }, ct);
        });

        var first = await recorder.RunAsync(Step(("in", new JsonObject()), ("in", new JsonObject())), () => null, default);
        Assert.Equal("""{"out.a":[{"n":1},{"n":2}],"elsewhere":[{"n":1},{"n":2}],"out.b":[{"n":2}]}""", first.ToJsonString());

        var second = await recorder.RunAsync(Step(("in", new JsonObject())), () => null, default);
        Assert.Equal("""{"out.a":[{"n":3}],"elsewhere":[{"n":3}]}""", second.ToJsonString());
    }

    [Fact]
    public async Task An_input_on_an_output_topic_is_not_recorded_as_output_and_missing_data_takes_the_given_payload()
    {
        await using var bus = new EventBus();
        var received = new List<JsonNode?>();
        using var component = bus.Subscribe("in", (e, _) =>
        {
            received.Add(e.Payload as JsonNode);
            return ValueTask.CompletedTask;
        });
        using var recorder = new BusStepRecorder(bus);

        var published = await recorder.RunAsync(Step(("out", new JsonObject { ["x"] = 1 }), ("in", null)), () => new JsonObject { ["empty"] = true }, default);

        Assert.Equal("{}", published.ToJsonString());
        Assert.Equal("""{"empty":true}""", Assert.Single(received)!.ToJsonString());
    }

    [Fact]
    public async Task A_malformed_event_names_its_position()
    {
        await using var bus = new EventBus();
        using var recorder = new BusStepRecorder(bus);

        var notObject = await Assert.ThrowsAsync<InvalidInputException>(async () =>
            await recorder.RunAsync(new JsonObject { ["events"] = new JsonArray(new JsonObject { ["topic"] = "in" }, 5) }, () => null, default));
        Assert.Contains("events[1]", notObject.Message);
        var noTopic = await Assert.ThrowsAsync<InvalidInputException>(async () =>
            await recorder.RunAsync(new JsonObject { ["events"] = new JsonArray(new JsonObject { ["data"] = 1 }) }, () => null, default));
        Assert.Contains("events[0].topic", noTopic.Message);
    }
}
