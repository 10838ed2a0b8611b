using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// Posts device-memory samples on the <c>telemetry</c> topic on a timer, so that a supervisor on the same bus
/// governs by device memory (DESIGN §6 reads vram_used_gb / vram_total_gb) without the training loop publishing
/// anything. Payload: {device, vram_high, vram_total_gb, vram_used_gb, vram_util}.
/// </summary>
/// <remarks>
/// <para>Gigabytes here are GiB (2^30 bytes), as drivers and nvidia-smi count device memory; the supervisor only
/// uses their ratio. The payload has no <c>bus_latency_ms</c>: the supervisor keeps only the newest telemetry
/// payload (no merging), so a host that also publishes latency on this topic should fold these figures into its
/// own payload (<see cref="ToPayload"/>) rather than run a publisher beside it.</para>
/// <para>One sample is posted when the publisher starts, then one per <see cref="Interval"/>. A failed read or
/// publish is logged and counted (<see cref="Failures"/>) and the timer goes on.</para>
/// </remarks>
public sealed class TelemetryPublisher : IAsyncDisposable
{
    /// <summary>Default posting interval.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);

    private const double BytesPerGb = 1024.0 * 1024.0 * 1024.0;

    private readonly IEventBus _bus;
    private readonly IDeviceTelemetrySource _source;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private CancellationTokenSource? _stop;
    private PeriodicTimer? _timer;
    private Task? _loop;
    private long _published;
    private long _failures;

    /// <param name="bus">Where to post.</param>
    /// <param name="source">What to sample (wrap a costly source in <see cref="CachedTelemetrySource"/>).</param>
    /// <param name="interval">Time between posts (default <see cref="DefaultInterval"/>; positive).</param>
    /// <param name="timeProvider">The clock driving the timer (default the system's).</param>
    /// <param name="logger">Where failures are reported.</param>
    public TelemetryPublisher(IEventBus bus, IDeviceTelemetrySource source, TimeSpan? interval = null,
        TimeProvider? timeProvider = null, ILogger<TelemetryPublisher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(source);
        var every = interval ?? DefaultInterval;
        if (every <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), every, "the publishing interval must be positive");
        _bus = bus;
        _source = source;
        Interval = every;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public TimeSpan Interval { get; }

    /// <summary>Samples posted so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Reads or posts that failed so far.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>The <c>telemetry</c> payload for <paramref name="sample"/> (keys in ordinal order).</summary>
    public static JsonObject ToPayload(DeviceMemorySample sample, string device) => new()
    {
        ["device"] = device,
        ["vram_high"] = sample.VramHigh,
        ["vram_total_gb"] = sample.TotalBytes / BytesPerGb,
        ["vram_used_gb"] = sample.UsedBytes / BytesPerGb,
        ["vram_util"] = sample.VramUtil,
    };

    /// <summary>Posts one sample now, then starts the timer. A start cancelled before its first post got through
    /// throws <see cref="OperationCanceledException"/> and leaves the publisher not started: it may be started again.
    /// A stop during that first post cancels it (as it cancels a timer's post waiting for room) and waits for it; the
    /// start then returns and the timer is never started.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var stop = new CancellationTokenSource();
        // A stop ends the first post as it ends a timer's: a post waiting for room on a full queue hung the stop.
        using var firstPost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop.Token);
        Task first;
        lock (_gate)
        {
            if (_stop is not null)
            {
                var stopped = _stop.IsCancellationRequested;
                stop.Dispose();
                throw new InvalidOperationException(stopped
                    ? "the telemetry publisher was stopped; a stopped publisher is not started again (make a new one)"
                    : "the telemetry publisher is already started");
            }
            _stop = stop;
            first = PublishOnceAsync(firstPost.Token);
            // A stop now waits for this post: one that returned at once let its host shut the bus down under it.
            _loop = first;
        }
        try
        {
            await first.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Stopped during the first post: the stop ended it; the timer is never started.
            return;
        }
        catch (OperationCanceledException)
        {
            // Marked started, the retry was refused as "already started" and the host ran without device telemetry.
            lock (_gate)
            {
                _stop = null;
                _loop = null;
            }
            stop.Dispose();
            throw;
        }
        lock (_gate)
        {
            // Stopped during the first post: a timer made now would tick, undisposed, for the life of the process.
            if (stop.IsCancellationRequested) return;
            _timer = new PeriodicTimer(Interval, _time);
            _loop = RunAsync(_timer, stop.Token);
        }
    }

    /// <summary>Stops the timer and waits for a post in progress (the start's first one too). Idempotent: a second
    /// stop (or dispose) at once waits for that post too. A publisher stopped before it was started is not started
    /// afterwards (the start is refused).</summary>
    public async Task StopAsync()
    {
        Task? loop;
        lock (_gate)
        {
            if (_stop is null)
            {
                // Stopped before it was ever started: a later start posted and started a timer nobody stopped (the
                // host had already stopped it). Marked stopped, so that start is refused as one after a stop is.
                _stop = new CancellationTokenSource();
                _stop.Cancel();
                return;
            }
            if (!_stop.IsCancellationRequested)
            {
                _stop.Cancel();
                _timer?.Dispose();
            }
            loop = _loop;
        }
        // Awaited by every stop: the second returned at once while the first still waited, and its caller shut the bus
        // down under a post it believed finished. A first post cancelled by the start's token is the start's to report.
        if (loop is not null) await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop?.Dispose();
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken token)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
                await PublishOnceAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private async Task PublishOnceAsync(CancellationToken token)
    {
        JsonObject payload;
        try
        {
            payload = WirePayload.Of(ToPayload(_source.Sample(), _source.Device));
        }
        // A source's own cancellation (a read that timed out) is a failed read; only the publisher's stop ends the loop.
        catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
        {
            Interlocked.Increment(ref _failures);
            LogReadFailed(_logger, _source.Device, e);
            return;
        }
        try
        {
            await _bus.PublishAsync(GovernanceTopics.Telemetry, payload, token).ConfigureAwait(false);
            Interlocked.Increment(ref _published);
        }
        catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
        {
            // A bus that has shut down (the host stops the publisher next), or a broker that timed out or dropped
            // the connection: this sample is lost, the next tick tries again.
            Interlocked.Increment(ref _failures);
            LogPublishFailed(_logger, e);
        }
    }

    private static readonly Action<ILogger, string, Exception?> LogReadFailed =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(1, "DeviceTelemetryReadFailed"),
            "device telemetry: reading {Device} failed; no sample this tick");

    private static readonly Action<ILogger, Exception?> LogPublishFailed =
        LoggerMessage.Define(LogLevel.Warning, new EventId(2, "DeviceTelemetryPublishFailed"),
            "device telemetry: posting on the telemetry topic failed");
}
