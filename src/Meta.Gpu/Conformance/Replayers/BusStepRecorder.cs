using System.Text.Json.Nodes;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// The bus side of a trace step for the components that talk only through the bus (supervisor, agent): publishes
/// the step's <c>events</c> in order, waiting for the bus to be idle after each one, and records everything the
/// component published meanwhile, as the trace's <c>published</c> ({topic: [payloads in publish order]}). The
/// component publishes through <see cref="ComponentBus"/>, which records every topic: a fixed list of output
/// topics let a publish elsewhere (a stray or wrong topic) pass unseen. The step's own events go straight to the
/// bus, so an input is never an output, even on a topic the component also publishes.
/// </summary>
internal sealed class BusStepRecorder : IDisposable
{
    private readonly IEventBus _bus;
    private readonly Lock _lock = new();
    private readonly List<BusEvent> _published = [];

    public BusStepRecorder(IEventBus bus)
    {
        _bus = bus;
        ComponentBus = new RecordingBus(bus, this);
    }

    /// <summary>The bus to give the component: the same bus, with every publish through it recorded.</summary>
    public IEventBus ComponentBus { get; }

    /// <summary>Publishes the step's events and returns what the component published since the previous step
    /// (its start included, for the first).</summary>
    /// <param name="input">The step's input, with its optional <c>events</c> array of {topic, data}.</param>
    /// <param name="missingData">The payload of an event without <c>data</c>.</param>
    /// <param name="cancellationToken">Stops publishing and waiting.</param>
    public async ValueTask<JsonObject> RunAsync(JsonObject input, Func<JsonNode?> missingData, CancellationToken cancellationToken)
    {
        var events = input["events"] switch
        {
            null => [],
            JsonArray given => given,
            // Read as no events, the step published nothing and passed wherever nothing was expected.
            var other => throw new InvalidInputException($"events: expected an array of {{topic, data}}, got {JsonRead.Show(other)}"),
        };
        // Every event read before any is published: a malformed one after good ones left the step half replayed, and
        // what the component answered to those stayed recorded, reported as the next step's output.
        var topics = new string[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var item = events[i] as JsonObject ?? throw new InvalidInputException($"events[{i}]: expected an object");
            var topic = JsonRead.String(item, "topic", "", $"events[{i}]");
            if (topic.Length == 0) throw new InvalidInputException($"events[{i}].topic: missing");
            topics[i] = topic;
        }
        for (var i = 0; i < events.Count; i++)
        {
            var payload = events[i]!["data"]?.DeepClone() ?? missingData();
            await _bus.PublishAsync(topics[i], payload, cancellationToken).ConfigureAwait(false);
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
            _published.Clear();
        }
        return published;
    }

    public void Dispose()
    {
        lock (_lock) _published.Clear();
    }

    private void Record(string topic, object? payload)
    {
        lock (_lock) _published.Add(new BusEvent(topic, payload));
    }

    /// <summary>The component's view of the bus: everything passes through; publishes are recorded. The replayer's
    /// session owns the bus and disposes it.</summary>
    private sealed class RecordingBus(IEventBus inner, BusStepRecorder recorder) : IEventBus
    {
        public async ValueTask PublishAsync(string topic, object? payload, CancellationToken cancellationToken = default)
        {
            await inner.PublishAsync(topic, payload, cancellationToken).ConfigureAwait(false);
            recorder.Record(topic, payload);
        }

        public IDisposable Subscribe(string topic, Func<BusEvent, CancellationToken, ValueTask> handler) => inner.Subscribe(topic, handler);

        // Forwarded, not the interface's default: the in-process bus gives a several-topic subscriber one queue.
        public IDisposable Subscribe(IReadOnlyList<string> topics, Func<BusEvent, CancellationToken, ValueTask> handler) =>
            inner.Subscribe(topics, handler);

        public Task WaitForIdleAsync(CancellationToken cancellationToken = default) => inner.WaitForIdleAsync(cancellationToken);

        public Task ShutdownAsync(TimeSpan timeout) => inner.ShutdownAsync(timeout);

        public EventBusStats Stats => inner.Stats;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
