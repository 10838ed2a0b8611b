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

    public IReadOnlyCollection<string> Settings { get; } = ["initial_profile", "config"];

    public ITraceSession Open(JsonObject file)
    {
        var profile = ResourceProfile.FromJson(JsonRead.Object(file, "initial_profile"), "initial_profile");
        var config = IntegrativeMetaConfig.FromJson(JsonRead.Object(file, "config"), "config");
        var bus = busFactory();
        try
        {
            var recorder = new BusStepRecorder(bus);
            return new Session(bus, recorder, new MetaSupervisor(recorder.ComponentBus, config, profile));
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
        private readonly MetaSupervisor _supervisor;
        private readonly BusStepRecorder _recorder;

        public Session(IEventBus bus, BusStepRecorder recorder, MetaSupervisor supervisor)
        {
            _bus = bus;
            _supervisor = supervisor;
            _recorder = recorder;
            supervisor.Start();
        }

        public async ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            var published = await _recorder.RunAsync(input, missingData: () => null, cancellationToken).ConfigureAwait(false);
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
            _recorder.Dispose();
            await _bus.DisposeAsync().ConfigureAwait(false);
        }
    }
}
