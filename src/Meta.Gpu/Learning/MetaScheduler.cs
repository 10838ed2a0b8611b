using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Logging;

namespace Meta.Gpu.Learning;

/// <summary>
/// Decides when the agent aggregates (DESIGN §9): counts windows and adapts the update interval to load.
/// Not thread-safe: the agent drives it from one event at a time.
/// </summary>
/// <remarks>
/// <see cref="ShouldUpdate(SchedulerTelemetry)"/> applies each rule in turn to the interval the previous rule left
/// (not else-if): (1) latency &gt; target or vram_high: max(min, max(1, floor(i * decay))); (2) bandwidth_low:
/// min(max, i + increment); (3) latency &lt; target * headroom and not vram_high: max(min, round(i * speedup));
/// (4) jitter j &gt; 0: round(i * (1 + U(-j, j))); (5) clamp to [min, max]. Rounding is half-to-even. Then, when the
/// windows counted (the current one included) reach the interval, the count resets and the answer is true.
/// The random source is drawn only when jitter &gt; 0.
/// </remarks>
public sealed class MetaScheduler
{
    private readonly Func<double> _uniform;

    /// <param name="config">Settings; default the design's.</param>
    /// <param name="uniform">Uniform draws in [0, 1) for the jitter; default <see cref="Random.Shared"/>. A draw
    /// outside [0, 1) makes <see cref="ShouldUpdate(SchedulerTelemetry)"/> throw <see cref="InvalidOperationException"/>,
    /// the interval and window count unchanged.</param>
    public MetaScheduler(SchedulerConfig? config = null, Func<double>? uniform = null)
    {
        Config = (config ?? SchedulerConfig.Default).Validated();
        _uniform = uniform ?? Random.Shared.NextDouble;
        IntervalWindows = Config.UpdateIntervalWindows;
    }

    /// <summary>Uses <paramref name="random"/> for the jitter (seeded runs are reproducible).</summary>
    public MetaScheduler(SchedulerConfig? config, Random random)
        : this(config, (random ?? throw new ArgumentNullException(nameof(random))).NextDouble)
    {
    }

    public SchedulerConfig Config { get; }

    /// <summary>The current update interval, in windows.</summary>
    public int IntervalWindows { get; private set; }

    /// <summary>Windows counted since the last update.</summary>
    public int WindowsCounted { get; private set; }

    /// <summary>Counts one window.</summary>
    public void RecordWindow() => WindowsCounted++;

    /// <summary>Read for vram_high when a payload lacks it (DESIGN §13); null (the default): such a payload reads
    /// as not vram_high.</summary>
    public IDeviceTelemetrySource? DeviceTelemetry { get; init; }

    /// <summary>Where a failing <see cref="DeviceTelemetry"/> is reported (it then reads as not vram_high).</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Adapts the interval from a JSON telemetry payload and says whether to update now. A payload
    /// without <c>vram_high</c> (missing or null) takes it from <see cref="DeviceTelemetry"/> when one is attached.</summary>
    public bool ShouldUpdate(JsonObject? telemetry)
    {
        var read = SchedulerTelemetry.FromJson(telemetry);
        if (DeviceTelemetry is not null && telemetry?["vram_high"] is null)
            read = read with { VramHigh = VramHighReading.From(null, DeviceTelemetry, Logger) };
        return ShouldUpdate(read);
    }

    /// <summary>Adapts the interval to <paramref name="telemetry"/> and says whether to update now.</summary>
    /// <exception cref="InvalidInputException">The latency is NaN or infinite (nothing changes).</exception>
    public bool ShouldUpdate(SchedulerTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        // Refused as the JSON overload refuses it: NaN is neither above the target nor below the headroom.
        JsonRead.RequireFinite(telemetry.LatencyMs, "telemetry.latency_ms");
        IntervalWindows = NextInterval(IntervalWindows, telemetry);
        if (WindowsCounted >= IntervalWindows)
        {
            WindowsCounted = 0;
            return true;
        }
        return false;
    }

    private int NextInterval(int interval, SchedulerTelemetry telemetry)
    {
        var c = Config;
        var latency = telemetry.LatencyMs ?? c.LatencyTargetMs;
        double i = interval;
        if (latency > c.LatencyTargetMs || telemetry.VramHigh)
            i = Math.Max(c.MinIntervalWindows, Math.Max(1, Math.Floor(i * c.IntervalDecayFactor)));
        if (telemetry.BandwidthLow)
            i = Math.Min(c.MaxIntervalWindows, i + c.IntervalLoadIncrement);
        if (latency < c.LatencyTargetMs * c.LatencyHeadroomFactor && !telemetry.VramHigh)
            i = Math.Max(c.MinIntervalWindows, Math.Round(i * c.IntervalSpeedupFactor, MidpointRounding.ToEven));
        if (c.Jitter > 0)
        {
            var r = _uniform();
            // An injected source outside [0, 1) (NaN among them) gave an interval of int.MinValue windows.
            if (!(r >= 0 && r < 1))
                throw new InvalidOperationException(FormattableString.Invariant($"the scheduler's uniform source returned {r}, not a draw in [0, 1): the interval is left at {interval}"));
            var u = -c.Jitter + 2 * c.Jitter * r;
            i = Math.Round(i * (1 + u), MidpointRounding.ToEven);
        }
        return (int)Math.Clamp(i, c.MinIntervalWindows, c.MaxIntervalWindows);
    }
}
