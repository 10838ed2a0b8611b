using System.Text.Json.Nodes;
using Meta.Gpu.Conformance.Replayers;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>A supervisor or agent trace step whose events include a malformed one (no object, no topic) fails whole:
/// none of its events is published. The events before the bad one were delivered, the component answered them, and
/// what it published stayed in the recorder, to be reported as the next step's output: a good next step failed with
/// the bad step's payloads.</summary>
public sealed class MalformedStepEventsTests
{
    [Fact]
    public async Task A_step_with_a_malformed_event_publishes_none_of_its_events_and_the_next_step_sees_only_its_own_output()
    {
        await using var bus = new EventBus();
        using var recorder = new BusStepRecorder(bus);
        var componentBus = recorder.ComponentBus;
        var seen = 0;
        using var component = componentBus.Subscribe("in", async (e, ct) => await componentBus.PublishAsync("out", new JsonObject { ["n"] = ++seen }, ct));

        await Assert.ThrowsAsync<InvalidInputException>(async () =>
            await recorder.RunAsync(new JsonObject { ["events"] = new JsonArray(new JsonObject { ["topic"] = "in" }, new JsonObject { ["data"] = 1 }) }, () => null, default));
        Assert.Equal(0, seen);

        var next = await recorder.RunAsync(new JsonObject { ["events"] = new JsonArray(new JsonObject { ["topic"] = "in" }) }, () => null, default);

        Assert.Equal("""{"out":[{"n":1}]}""", next.ToJsonString());
    }
}
