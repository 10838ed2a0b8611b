using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// Replays <c>supervisor</c> traces (DESIGN §14): file <c>initial_profile</c>, default configuration, no device
/// telemetry source (a file-level <c>config</c>, §5 layout, is honoured when present). Each step publishes its events in order on a real bus, waiting for the bus to be idle after
/// each one (each handled to completion before the next), and returns everything the supervisor published during
/// the step ({topic: [payloads in publish order]}), the profile and low_accept_windows after the step.
/// </summary>
public sealed class SupervisorReplayer(Func<IEventBus> busFactory) : ITraceReplayer
{
    public string Component => "supervisor";

    public ITraceSession Open(JsonObject file)
    {
        var profile = ResourceProfile.FromJson(JsonRead.Object(file, "initial_profile"), "initial_profile");
        var config = IntegrativeMetaConfig.FromJson(JsonRead.Object(file, "config"));
        var bus = busFactory();
        try
        {
            return new Session(bus, new MetaSupervisor(bus, config, profile));
        }
        catch
        {
            bus.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    private sealed class Session : ITraceSession
    {
        private static readonly string[] OutputTopics =
            [GovernanceTopics.MetaPolicyUpdate, GovernanceTopics.ResourceProfile, GovernanceTopics.MetaMetrics];

        private readonly IEventBus _bus;
        private readonly MetaSupervisor _supervisor;
        private readonly List<IDisposable> _subscriptions = [];
        private readonly Lock _lock = new();
        private readonly List<BusEvent> _published = [];

        public Session(IEventBus bus, MetaSupervisor supervisor)
        {
            _bus = bus;
            _supervisor = supervisor;
            foreach (var topic in OutputTopics)
            {
                _subscriptions.Add(bus.Subscribe(topic, (e, _) =>
                {
                    lock (_lock) _published.Add(e);
                    return ValueTask.CompletedTask;
                }));
            }
            supervisor.Start();
        }

        public async ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            lock (_lock) _published.Clear();
            var events = input["events"] as JsonArray ?? [];
            for (var i = 0; i < events.Count; i++)
            {
                var item = events[i] as JsonObject ?? throw new InvalidInputException($"events[{i}]: expected an object");
                var topic = JsonRead.String(item, "topic", "", $"events[{i}]");
                if (topic.Length == 0) throw new InvalidInputException($"events[{i}].topic: missing");
                await _bus.PublishAsync(topic, item["data"]?.DeepClone(), cancellationToken).ConfigureAwait(false);
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
            return WirePayload.Of(new JsonObject
            {
                ["published"] = published,
                ["profile"] = _supervisor.Profile.BuildJson(),
                ["low_accept_windows"] = _supervisor.LowAcceptWindows,
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _supervisor.StopAsync().ConfigureAwait(false);
            foreach (var subscription in _subscriptions) subscription.Dispose();
            await _bus.DisposeAsync().ConfigureAwait(false);
        }
    }
}
