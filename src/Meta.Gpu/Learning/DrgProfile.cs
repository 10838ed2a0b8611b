using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>
/// The resource flags that steer the Reptile step size (DESIGN §8 (a), §10): load (vram or latency high) shrinks
/// beta, free bandwidth grows it. <c>bandwidth_low</c> is carried for the scheduler.
/// </summary>
public sealed record DrgProfile(bool VramHigh = false, bool LatencyHigh = false, bool BandwidthFree = false, bool BandwidthLow = false)
{
    public static DrgProfile None { get; } = new();

    /// <summary>Reads the four flags (booleans or 0.0/1.0; missing = false).</summary>
    public static DrgProfile FromJson(JsonObject? profile, string path = "drg_profile") => new(
        JsonRead.Bool(profile, "vram_high", false, path),
        JsonRead.Bool(profile, "latency_high", false, path),
        JsonRead.Bool(profile, "bandwidth_free", false, path),
        JsonRead.Bool(profile, "bandwidth_low", false, path));
}
