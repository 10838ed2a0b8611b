using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// Replays <c>agent</c> traces (DESIGN §14): file <c>update_rule</c> (learner and optimizer) and <c>config</c>
/// (<see cref="MetaLearningConfig"/> sections). Each step publishes its events in order on a real bus, waiting for
/// the bus to be idle after each one, and returns {published: {topic: [payloads]} (the agent's publishes during
/// the step), saved_prior (the whole global prior as last saved; null before the first save)}.
/// </summary>
public sealed class AgentReplayer(Func<IEventBus> busFactory) : ITraceReplayer
{
    private static readonly string[] OutputTopics =
        [LearningTopics.MetaTelemetry, LearningTopics.MetaRollbackActive, LearningTopics.MetaPriorUpdate, LearningTopics.MetaUpdate];

    public string Component => "agent";

    public ITraceSession Open(JsonObject file)
    {
        var config = MetaLearningConfig.FromJson(JsonRead.Object(file, "config"));
        if (JsonRead.Has(file, "update_rule"))
            config = config.WithUpdateRule(UpdateRuleNames.Parse(JsonRead.String(file, "update_rule", "", ""), "update_rule"));
        var store = new InMemoryPriorStore();
        var bus = busFactory();
        try
        {
            var agent = new MetaLearningAgent(bus, config, store, schedulerRandom: new Random(0).NextDouble);
            return new Session(bus, agent, store);
        }
        catch
        {
            bus.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    private sealed class Session : ITraceSession
    {
        private readonly IEventBus _bus;
        private readonly MetaLearningAgent _agent;
        private readonly InMemoryPriorStore _store;
        private readonly List<IDisposable> _subscriptions = [];
        private readonly Lock _lock = new();
        private readonly List<BusEvent> _published = [];
        // Payloads the replayer itself published: an input on an output topic is not the agent's output.
        private readonly ConditionalWeakTable<object, object> _inputs = [];
        private bool _started;

        public Session(IEventBus bus, MetaLearningAgent agent, InMemoryPriorStore store)
        {
            _bus = bus;
            _agent = agent;
            _store = store;
            foreach (var topic in OutputTopics)
            {
                _subscriptions.Add(bus.Subscribe(topic, (e, _) =>
                {
                    lock (_lock)
                        if (e.Payload is null || !_inputs.TryGetValue(e.Payload, out object? _)) _published.Add(e);
                    return ValueTask.CompletedTask;
                }));
            }
        }

        public async ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            if (!_started)
            {
                await _agent.StartAsync(cancellationToken).ConfigureAwait(false);
                _started = true;
            }
            lock (_lock) _published.Clear();
            var events = input["events"] as JsonArray ?? [];
            for (var i = 0; i < events.Count; i++)
            {
                var item = events[i] as JsonObject ?? throw new InvalidInputException($"events[{i}]: expected an object");
                var topic = JsonRead.String(item, "topic", "", $"events[{i}]");
                if (topic.Length == 0) throw new InvalidInputException($"events[{i}].topic: missing");
                var payload = item["data"]?.DeepClone() ?? new JsonObject();
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
            var saved = _store.LoadPrior();
            return TraceOutput.Normalise(new JsonObject
            {
                ["published"] = published,
                ["saved_prior"] = saved is null ? null : TraceOutput.Map(saved),
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _agent.StopAsync().ConfigureAwait(false);
            foreach (var subscription in _subscriptions) subscription.Dispose();
            await _bus.DisposeAsync().ConfigureAwait(false);
        }
    }
}
