using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>The telemetry the scheduler reads (DESIGN §9): latency (null = the target), vram_high, bandwidth_low.</summary>
public sealed record SchedulerTelemetry(double? LatencyMs = null, bool VramHigh = false, bool BandwidthLow = false)
{
    /// <summary>Reads latency_ms, vram_high and bandwidth_low (booleans may be 0/1; missing = defaults; other
    /// fields ignored).</summary>
    public static SchedulerTelemetry FromJson(JsonObject? telemetry, string path = "telemetry")
    {
        var latency = JsonRead.OptionalDouble(telemetry, "latency_ms", path);
        // NaN is neither above the target nor below the headroom: refused, as the agent's round input refuses it.
        JsonRead.RequireFinite(latency, JsonRead.Join(path, "latency_ms"));
        return new(latency, JsonRead.Bool(telemetry, "vram_high", false, path), JsonRead.Bool(telemetry, "bandwidth_low", false, path));
    }
}
