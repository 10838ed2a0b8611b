namespace Meta.Gpu.Telemetry;

/// <summary>
/// One reading of device memory (DESIGN §13): bytes in use and in total, the share in use (<c>vram_util</c>) and
/// whether it is above the DRG's vram-high threshold (<c>vram_high</c>).
/// </summary>
public readonly record struct DeviceMemorySample(long UsedBytes, long TotalBytes, double VramUtil, bool VramHigh)
{
    /// <summary>The vram-high threshold of DESIGN §5 (<c>drg_policy.vram_high</c>) when the caller has no other.</summary>
    public const double DefaultVramHighThreshold = 0.85;

    /// <summary>A sample from byte counts: vram_util = clip(used / total, 0, 1) (0 when the total is unknown, i.e.
    /// not positive); vram_high = vram_util > <paramref name="vramHighThreshold"/>.</summary>
    public static DeviceMemorySample FromBytes(long usedBytes, long totalBytes, double vramHighThreshold = DefaultVramHighThreshold)
    {
        var util = totalBytes > 0 ? Math.Clamp((double)usedBytes / totalBytes, 0.0, 1.0) : 0.0;
        return new DeviceMemorySample(usedBytes, totalBytes, util, util > vramHighThreshold);
    }
}
