using System.Text.Json.Nodes;
using Meta.Gpu.Runtime;
using Meta.Gpu.Serialization;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Governance;

/// <summary>
/// Drives the governance layer from the bus (DESIGN §6): keeps the last processing and telemetry payloads,
/// counts low-accept windows, runs an update per <c>processing_metrics</c> event (except the two after a
/// <c>meta_rollback_active</c>), and publishes <c>meta_policy_update</c>, <c>resource_profile</c> (when it
/// changed) and <c>meta_metrics</c>, in that order.
/// </summary>
/// <remarks>
/// <para>Events are handled one at a time, in arrival order: the supervisor is one subscriber of its three input
/// topics (<see cref="IEventBus.Subscribe(IReadOnlyList{string}, Func{BusEvent, CancellationToken, ValueTask})"/>),
/// and every handling takes the same gate (a <see cref="SemaphoreSlim"/>) for the whole handling, publishes
/// included. On the in-process bus that subscriber has one queue, so arrival order is publish order across the
/// topics too (a window is governed with the telemetry published just before it). Over a broker it is each
/// topic's order; the broker keeps none between subjects.</para>
/// <para>A malformed payload is rejected (an <see cref="InvalidInputException"/>, which the bus logs and counts)
/// before any state changes.</para>
/// </remarks>
public sealed class MetaSupervisor : IAsyncDisposable
{
    /// <summary>Updates skipped after a <c>meta_rollback_active</c> event.</summary>
    public const int RollbackSkipCount = 2;

    private readonly IEventBus _bus;
    private readonly IDeviceTelemetrySource? _deviceTelemetry;
    private readonly ILogger _logger;
    private readonly SubscriberLifetime _lifetime = new();
    private SupervisorTelemetry? _telemetry;
    private double? _lastGainP50;
    private int _skipCount;
    /// <summary>1 once a start has claimed the supervisor: taken atomically, so that two starts at once subscribe once.</summary>
    private int _startClaimed;
    /// <summary>The profile the consumers last heard of (the initial one until a change is published).</summary>
    private ResourceProfile _announcedProfile;
    /// <summary>The knob values the consumers last heard of (the layer's first ones until a policy update goes out).</summary>
    private KnobVector _announcedKnobs;
    /// <summary>The device source's last figure was not finite (its warning is given once per such run).</summary>
    private bool _deviceReadingBroken;

    /// <param name="bus">The bus to subscribe to and publish on.</param>
    /// <param name="config">The layer's configuration (default: DESIGN §5 defaults).</param>
    /// <param name="initialProfile">The profile to start from (default <see cref="ResourceProfile.Initial"/>);
    /// its n_paths is capped at drg_policy.n_paths_max (D6).</param>
    /// <param name="deviceTelemetry">Read for vram_util when the kept telemetry payload has no memory figure.</param>
    /// <param name="layerOptions">Options of the layer (policy log, clock).</param>
    /// <param name="logger">Where device-telemetry failures are reported.</param>
    public MetaSupervisor(IEventBus bus, IntegrativeMetaConfig? config = null, ResourceProfile? initialProfile = null,
        IDeviceTelemetrySource? deviceTelemetry = null, MetaIntegrativeLayerOptions? layerOptions = null,
        ILogger<MetaSupervisor>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        _bus = bus;
        // Checked before the layer opens its policy log: a refused profile must not leave the file open.
        var profile = initialProfile ?? ResourceProfile.Initial;
        profile.Validate();
        Layer = new MetaIntegrativeLayer(config, layerOptions);
        _announcedKnobs = Layer.State.Knobs;
        Profile = profile with { NPaths = Math.Min(profile.NPaths, Layer.Config.DrgPolicy.NPathsMax) };
        _announcedProfile = Profile;
        _deviceTelemetry = deviceTelemetry;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public MetaIntegrativeLayer Layer { get; }

    /// <summary>The resource profile now.</summary>
    public ResourceProfile Profile { get; private set; }

    /// <summary>Consecutive processing windows with accept_rate (missing = 0) below evaluator_policy.accept_very_low,
    /// counted also while updates are skipped. DESIGN §6 writes the threshold as 0.03, the default of that field;
    /// like every other threshold it comes from the configuration.</summary>
    public int LowAcceptWindows { get; private set; }

    /// <summary>The last processing payload received (null before the first).</summary>
    public JsonObject? LastProcessingMetrics { get; private set; }

    /// <summary>Updates still to skip after a rollback of the agent.</summary>
    public int SkipCount => _skipCount;

    /// <summary>Subscribes to processing_metrics, telemetry and meta_rollback_active.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_lifetime.Stopped, this);
        // Claimed atomically: a check then a set let two starts at once both subscribe, and every window was governed twice.
        if (Interlocked.Exchange(ref _startClaimed, 1) != 0) throw new InvalidOperationException("the supervisor is already started");
        // One subscriber for the three: a window is governed with the telemetry published before it (§6: events
        // are handled one at a time, in arrival order), which three queues raced for.
        _lifetime.Add(_bus.Subscribe([GovernanceTopics.Telemetry, GovernanceTopics.MetaRollbackActive, GovernanceTopics.ProcessingMetrics], HandleAsync), this);
    }

    /// <summary>Unsubscribes, then waits for the event being handled (if any) to finish. Idempotent; a stop whose
    /// wait was cancelled is done again by the next call.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _lifetime.StopAsync(Layer.Dispose, cancellationToken);

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Handles one event, waiting for the one in progress first; after <see cref="StopAsync"/> it
    /// ignores events. The bus calls it; a host that feeds events itself may call it directly.</summary>
    public async ValueTask HandleAsync(BusEvent busEvent, CancellationToken cancellationToken)
    {
        if (!await _lifetime.EnterAsync(cancellationToken).ConfigureAwait(false)) return;
        try
        {
            switch (busEvent.Topic)
            {
                case GovernanceTopics.Telemetry:
                    _telemetry = SupervisorTelemetry.FromJson(BusPayload.AsObject(busEvent.Payload, busEvent.Topic));
                    break;
                case GovernanceTopics.MetaRollbackActive:
                    _skipCount = RollbackSkipCount;
                    break;
                case GovernanceTopics.ProcessingMetrics:
                    await OnProcessingMetricsAsync(BusPayload.AsObject(busEvent.Payload, busEvent.Topic), cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidInputException($"{busEvent.Topic}: not a topic the supervisor handles");
            }
        }
        finally
        {
            _lifetime.Exit();
        }
    }

    private async ValueTask OnProcessingMetricsAsync(JsonObject payload, CancellationToken cancellationToken)
    {
        const string topic = GovernanceTopics.ProcessingMetrics;
        // Read everything first: a malformed payload changes nothing.
        var snapshot = TelemetrySnapshot.FromJson(payload, topic);
        var engineLatency = JsonRead.OptionalDouble(payload, "engine_latency_ms", topic);
        JsonRead.RequireFinite(engineLatency, JsonRead.Join(topic, "engine_latency_ms"));
        var ciWidthOwn = JsonRead.OptionalDouble(payload, "ci_width", topic);
        JsonRead.RequireFinite(ciWidthOwn, JsonRead.Join(topic, "ci_width"));
        var ciWidthAvg = ciWidthOwn is null ? JsonRead.OptionalDouble(payload, "ci_width_avg", topic) : null;
        JsonRead.RequireFinite(ciWidthAvg, JsonRead.Join(topic, "ci_width_avg"));
        var ciWidth = ciWidthOwn ?? ciWidthAvg ?? 0.0;
        var gainP50 = JsonRead.OptionalDouble(payload, "gain_p50", topic);

        var lowAcceptWindows = snapshot.AcceptRate < Layer.Config.EvaluatorPolicy.AcceptVeryLow ? LowAcceptWindows + 1 : 0;
        var input = snapshot with
        {
            LatencyMs = engineLatency ?? _telemetry?.BusLatencyMs ?? 0.0,
            AcceptLowWindows = lowAcceptWindows,
            GainPrev = _lastGainP50 ?? gainP50,
            CiWidth = ciWidth,
        };
        // The layer would refuse a non-finite reading after the window count moved: check before anything does
        // (vram_util, checked on the telemetry payload's arrival or sampled finite, comes in below).
        (input with { VramUtil = 0.0 }).CheckFinite(topic);

        if (_skipCount > 0)
        {
            LastProcessingMetrics = payload;
            LowAcceptWindows = lowAcceptWindows;
            _skipCount--;
            return;
        }

        // The window counts once the update has gone through: an update that fails (its policy log line could not
        // be written) leaves the layer as it was, and so the window count, for a redelivery to count it once.
        var result = Layer.Update(input with { VramUtil = _telemetry?.VramUtil ?? SampleDeviceVram() });
        LastProcessingMetrics = payload;
        LowAcceptWindows = lowAcceptWindows;
        if (gainP50 is not null) _lastGainP50 = gainP50;

        var profile = Profile.After(result.ResourceProfileHint, result.Knobs, Layer.Config.DrgPolicy.NPathsMax);
        Profile = profile;

        // Also announces knobs whose earlier announcement failed (the bus refused it): each policy update names only
        // its own call's changes, so such a change was otherwise never heard of. Without failures this adds nothing.
        var policy = result.PolicyUpdate;
        var announce = new PolicyUpdate(policy.Rev, policy.ChangedMask | result.Knobs.DifferenceMask(_announcedKnobs), result.Knobs, policy.Reasons);
        await _bus.PublishAsync(GovernanceTopics.MetaPolicyUpdate, WirePayload.Of(announce.BuildJson()), cancellationToken).ConfigureAwait(false);
        _announcedKnobs = result.Knobs;
        // Compared with the last profile announced, not the one before this update: a change whose announcement
        // failed (the bus refused it) goes out with the next update instead of never.
        if (profile != _announcedProfile)
        {
            await _bus.PublishAsync(GovernanceTopics.ResourceProfile, WirePayload.Of(profile.BuildJson()), cancellationToken).ConfigureAwait(false);
            _announcedProfile = profile;
        }
        await _bus.PublishAsync(GovernanceTopics.MetaMetrics, WirePayload.Of(result.Telemetry.BuildJson()), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>vram_util from the device source when one is attached, else 0. A failing source is logged and
    /// read as 0 so that governance goes on without a memory figure, as it does with no source.</summary>
    private double SampleDeviceVram()
    {
        if (_deviceTelemetry is null) return 0.0;
        try
        {
            var util = _deviceTelemetry.Sample().VramUtil;
            if (double.IsFinite(util))
            {
                _deviceReadingBroken = false;
                // A share, as the layer takes it (the sources made from bytes clip it so already): a source of
                // another making that reads a little over a full device must not fail every window.
                return Math.Clamp(util, 0.0, 1.0);
            }
            // Read as 0 as a failing source is, but said once per broken run (each window would repeat it): silently,
            // a broken driver reading looked like an idle device and let the knobs grow.
            if (!_deviceReadingBroken) LogDeviceReadingNotFinite(_logger, _deviceTelemetry.Device, WireJson.NonFiniteName(util), null);
            _deviceReadingBroken = true;
            return 0.0;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogDeviceTelemetryFailed(_logger, e);
            return 0.0;
        }
    }

    private static readonly Action<ILogger, string, string, Exception?> LogDeviceReadingNotFinite =
        LoggerMessage.Define<string, string>(LogLevel.Warning, new EventId(2, "DeviceReadingNotFinite"),
            "device telemetry source {Device} gave vram_util {Value}; read as 0 until it gives a finite figure");

    private static readonly Action<ILogger, Exception?> LogDeviceTelemetryFailed =
        LoggerMessage.Define(LogLevel.Warning, new EventId(1, "DeviceTelemetryFailed"),
            "device telemetry source failed; vram_util read as 0 for this update");
}
