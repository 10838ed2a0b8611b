using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// The figures the supervisor takes from the last <c>telemetry</c> payload (DESIGN §6), read when it arrives so
/// that a malformed payload is rejected then, not at the next update.
/// </summary>
/// <param name="BusLatencyMs"><c>bus_latency_ms</c>, when given.</param>
/// <param name="VramUtil">The device-memory share: <c>gpu_memory_util</c>, else clip(vram_used_gb /
/// vram_total_gb, 0, 1) when vram_total_gb > 0 (a missing vram_used_gb reads as 0), else <c>vram_util</c>;
/// null when the payload has none of them. A NaN or infinite figure among those read is refused, naming it, and so
/// is a gpu_memory_util or vram_util outside [0, 1].</param>
public readonly record struct SupervisorTelemetry(double? BusLatencyMs, double? VramUtil)
{
    public static SupervisorTelemetry FromJson(JsonObject payload, string path = GovernanceTopics.Telemetry)
    {
        var busLatency = JsonRead.OptionalDouble(payload, "bus_latency_ms", path);
        double? vram = JsonRead.OptionalDouble(payload, "gpu_memory_util", path);
        // The shares sent as such are refused outside [0, 1] under their own names (the layer could only name
        // vram_util); the one made of gigabytes below is clipped, as DESIGN §6 has it.
        TelemetrySnapshot.RequireShare(vram, JsonRead.Join(path, "gpu_memory_util"));
        if (vram is null)
        {
            // Each figure the share is made of is refused under its own name: the clip turned an infinite
            // vram_used_gb into a full device, an infinite total into an empty one, and a NaN total fell through
            // to vram_util, so a broken reading steered the knobs as a plausible one would.
            var total = JsonRead.Double(payload, "vram_total_gb", 0.0, path);
            JsonRead.RequireFinite(total, JsonRead.Join(path, "vram_total_gb"));
            if (total > 0)
            {
                var used = JsonRead.Double(payload, "vram_used_gb", 0.0, path);
                JsonRead.RequireFinite(used, JsonRead.Join(path, "vram_used_gb"));
                vram = Math.Clamp(used / total, 0.0, 1.0);
            }
            else
            {
                vram = JsonRead.OptionalDouble(payload, "vram_util", path);
                TelemetrySnapshot.RequireShare(vram, JsonRead.Join(path, "vram_util"));
            }
        }
        // A non-finite figure is refused when the payload arrives (the supervisor keeps the previous one), not at
        // every update that would read it.
        JsonRead.RequireFinite(busLatency, JsonRead.Join(path, "bus_latency_ms"));
        if (vram is { } util && !double.IsFinite(util))
            throw new InvalidInputException($"{path}: vram_util {WireJson.NonFiniteName(util)} (from gpu_memory_util, vram_used_gb / vram_total_gb or vram_util) is not a finite reading");
        return new SupervisorTelemetry(busLatency, vram);
    }
}
