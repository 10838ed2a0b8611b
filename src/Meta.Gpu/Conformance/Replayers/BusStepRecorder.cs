using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// The bus side of a trace step for the components that talk only through the bus (supervisor, agent): publishes
/// the step's <c>events</c> in order, waiting for the bus to be idle after each one, and records what the
/// component published on its output topics meanwhile, as the trace's <c>published</c> ({topic: [payloads in
/// publish order]}). A payload the replayer published itself is an input, never an output, even on an output topic.
/// </summary>
internal sealed class BusStepRecorder : IDisposable
{
    private readonly IEventBus _bus;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Lock _lock = new();
    private readonly List<BusEvent> _published = [];
    private readonly ConditionalWeakTable<object, object> _inputs = [];

    public BusStepRecorder(IEventBus bus, IEnumerable<string> outputTopics)
    {
        _bus = bus;
        foreach (var topic in outputTopics)
        {
            _subscriptions.Add(bus.Subscribe(topic, (e, _) =>
            {
                lock (_lock)
                    if (e.Payload is null || !_inputs.TryGetValue(e.Payload, out object? _)) _published.Add(e);
                return ValueTask.CompletedTask;
            }));
        }
    }

    /// <summary>Publishes the step's events and returns what the component published meanwhile.</summary>
    /// <param name="input">The step's input, with its optional <c>events</c> array of {topic, data}.</param>
    /// <param name="missingData">The payload of an event without <c>data</c>.</param>
    /// <param name="cancellationToken">Stops publishing and waiting.</param>
    public async ValueTask<JsonObject> RunAsync(JsonObject input, Func<JsonNode?> missingData, CancellationToken cancellationToken)
    {
        lock (_lock) _published.Clear();
        var events = input["events"] switch
        {
            null => [],
            JsonArray given => given,
            // Read as no events, the step published nothing and passed wherever nothing was expected.
            var other => throw new InvalidInputException($"events: expected an array of {{topic, data}}, got {JsonRead.Show(other)}"),
        };
        for (var i = 0; i < events.Count; i++)
        {
            var item = events[i] as JsonObject ?? throw new InvalidInputException($"events[{i}]: expected an object");
            var topic = JsonRead.String(item, "topic", "", $"events[{i}]");
            if (topic.Length == 0) throw new InvalidInputException($"events[{i}].topic: missing");
            var payload = item["data"]?.DeepClone() ?? missingData();
            if (payload is not null)
                lock (_lock) _inputs.AddOrUpdate(payload, payload);
            await _bus.PublishAsync(topic, payload, cancellationToken).ConfigureAwait(false);
            await _bus.WaitForIdleAsync(cancellationToken).ConfigureAwait(false);
        }

        var published = new JsonObject();
        lock (_lock)
        {
            foreach (var e in _published)
            {
                if (published[e.Topic] is not JsonArray list)
                {
                    list = [];
                    published[e.Topic] = list;
                }
                list.Add(BusPayload.AsNode(e.Payload)?.DeepClone());
            }
        }
        return published;
    }

    public void Dispose()
    {
        foreach (var subscription in _subscriptions) subscription.Dispose();
    }
}
