using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// Replays <c>agent</c> traces (DESIGN §14): file <c>update_rule</c> (learner and optimizer) and <c>config</c>
/// (<see cref="MetaLearningConfig"/> sections). Each step publishes its events in order on a real bus, waiting for
/// the bus to be idle after each one, and returns {published: {topic: [payloads]} (everything the agent published
/// during the step, on any topic), saved_prior (the whole global prior as last saved; null before the first save)}.
/// </summary>
public sealed class AgentReplayer(Func<IEventBus> busFactory) : ITraceReplayer
{
    public string Component => "agent";

    public IReadOnlyCollection<string> Settings { get; } = ["config", "update_rule"];

    public ITraceSession Open(JsonObject file)
    {
        var config = MetaLearningConfig.FromJson(JsonRead.Object(file, "config"), "config");
        if (JsonRead.Has(file, "update_rule"))
            config = config.WithUpdateRule(UpdateRuleNames.Parse(JsonRead.String(file, "update_rule", "", ""), "update_rule"));
        var store = new InMemoryPriorStore();
        var bus = busFactory();
        try
        {
            var recorder = new BusStepRecorder(bus);
            var agent = new MetaLearningAgent(recorder.ComponentBus, config, store, schedulerRandom: new Random(0).NextDouble);
            return new Session(bus, recorder, agent, store);
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
        private readonly BusStepRecorder _recorder;
        private bool _started;

        public Session(IEventBus bus, BusStepRecorder recorder, MetaLearningAgent agent, InMemoryPriorStore store)
        {
            _bus = bus;
            _agent = agent;
            _store = store;
            _recorder = recorder;
        }

        public async ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            if (!_started)
            {
                await _agent.StartAsync(cancellationToken).ConfigureAwait(false);
                _started = true;
            }
            var published = await _recorder.RunAsync(input, missingData: () => new JsonObject(), cancellationToken).ConfigureAwait(false);
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
            _recorder.Dispose();
            await _bus.DisposeAsync().ConfigureAwait(false);
        }
    }
}
