using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>When the agent aggregates (DESIGN §9, config section <c>scheduler</c>). Defaults are the design's.</summary>
/// <param name="UpdateIntervalWindows">The initial interval, in windows; 10.</param>
/// <param name="LatencyTargetMs">Latency above this slows updates down (also the agent's latency_high); 80.</param>
/// <param name="LatencyHeadroomFactor">Latency below target x this speeds updates up; 0.7.</param>
/// <param name="Jitter">Relative random jitter j of the interval, in [0, 1); 0.1.</param>
/// <param name="MinIntervalWindows">Lower bound, &gt;= 1; 3.</param>
/// <param name="MaxIntervalWindows">Upper bound, &gt;= min; 20.</param>
/// <param name="IntervalDecayFactor">Interval factor under load (shorter interval: more frequent updates), in (0, 1]; 0.7.</param>
/// <param name="IntervalSpeedupFactor">Interval factor with latency headroom, &gt; 0; 0.8.</param>
/// <param name="IntervalLoadIncrement">Windows added when bandwidth is low, &gt;= 0; 2.</param>
public sealed record SchedulerConfig(
    int UpdateIntervalWindows = 10,
    double LatencyTargetMs = 80,
    double LatencyHeadroomFactor = 0.7,
    double Jitter = 0.1,
    int MinIntervalWindows = 3,
    int MaxIntervalWindows = 20,
    double IntervalDecayFactor = 0.7,
    double IntervalSpeedupFactor = 0.8,
    int IntervalLoadIncrement = 2)
{
    public static SchedulerConfig Default { get; } = new();

    private static readonly string[] Keys =
    [
        "update_interval_windows", "latency_target_ms", "latency_headroom_factor", "jitter", "min_interval_windows",
        "max_interval_windows", "interval_decay_factor", "interval_speedup_factor", "interval_load_increment",
    ];

    public SchedulerConfig Validated(string path = "scheduler")
    {
        if (UpdateIntervalWindows < 1) throw new InvalidInputException(FormattableString.Invariant($"{path}.update_interval_windows: must be >= 1, got {UpdateIntervalWindows}"));
        if (!double.IsFinite(LatencyTargetMs) || LatencyTargetMs < 0) throw new InvalidInputException(FormattableString.Invariant($"{path}.latency_target_ms: must be >= 0, got {LatencyTargetMs}"));
        if (!double.IsFinite(LatencyHeadroomFactor) || LatencyHeadroomFactor < 0) throw new InvalidInputException(FormattableString.Invariant($"{path}.latency_headroom_factor: must be >= 0, got {LatencyHeadroomFactor}"));
        if (!(Jitter >= 0 && Jitter < 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.jitter: must be in [0, 1), got {Jitter}"));
        if (MinIntervalWindows < 1) throw new InvalidInputException(FormattableString.Invariant($"{path}.min_interval_windows: must be >= 1, got {MinIntervalWindows}"));
        if (MaxIntervalWindows < MinIntervalWindows) throw new InvalidInputException(FormattableString.Invariant($"{path}.max_interval_windows: must be >= min_interval_windows ({MinIntervalWindows}), got {MaxIntervalWindows}"));
        if (!(IntervalDecayFactor > 0 && IntervalDecayFactor <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.interval_decay_factor: must be in (0, 1], got {IntervalDecayFactor}"));
        if (!(IntervalSpeedupFactor > 0) || !double.IsFinite(IntervalSpeedupFactor)) throw new InvalidInputException(FormattableString.Invariant($"{path}.interval_speedup_factor: must be > 0, got {IntervalSpeedupFactor}"));
        if (IntervalLoadIncrement < 0) throw new InvalidInputException(FormattableString.Invariant($"{path}.interval_load_increment: must be >= 0, got {IntervalLoadIncrement}"));
        return this;
    }

    /// <summary>Applies a JSON section over these settings; unknown keys are an error.</summary>
    public SchedulerConfig With(JsonObject? section, string path = "scheduler")
    {
        if (section is null) return Validated(path);
        JsonRead.RequireKnownKeys(section, path, Keys);
        return (this with
        {
            UpdateIntervalWindows = JsonRead.SettingInt(section, "update_interval_windows", UpdateIntervalWindows, path),
            LatencyTargetMs = JsonRead.Setting(section, "latency_target_ms", LatencyTargetMs, path),
            LatencyHeadroomFactor = JsonRead.Setting(section, "latency_headroom_factor", LatencyHeadroomFactor, path),
            Jitter = JsonRead.Setting(section, "jitter", Jitter, path),
            MinIntervalWindows = JsonRead.SettingInt(section, "min_interval_windows", MinIntervalWindows, path),
            MaxIntervalWindows = JsonRead.SettingInt(section, "max_interval_windows", MaxIntervalWindows, path),
            IntervalDecayFactor = JsonRead.Setting(section, "interval_decay_factor", IntervalDecayFactor, path),
            IntervalSpeedupFactor = JsonRead.Setting(section, "interval_speedup_factor", IntervalSpeedupFactor, path),
            IntervalLoadIncrement = JsonRead.SettingInt(section, "interval_load_increment", IntervalLoadIncrement, path),
        }).Validated(path);
    }

    public JsonObject ToJson() => new()
    {
        ["update_interval_windows"] = UpdateIntervalWindows,
        ["latency_target_ms"] = LatencyTargetMs,
        ["latency_headroom_factor"] = LatencyHeadroomFactor,
        ["jitter"] = Jitter,
        ["min_interval_windows"] = MinIntervalWindows,
        ["max_interval_windows"] = MaxIntervalWindows,
        ["interval_decay_factor"] = IntervalDecayFactor,
        ["interval_speedup_factor"] = IntervalSpeedupFactor,
        ["interval_load_increment"] = IntervalLoadIncrement,
    };
}
