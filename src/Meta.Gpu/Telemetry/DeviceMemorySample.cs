namespace Meta.Gpu.Telemetry;

/// <summary>
/// One reading of device memory (DESIGN §13): bytes in use and in total, the share in use (<c>vram_util</c>) and
/// whether it is above the DRG's vram-high threshold (<c>vram_high</c>).
/// </summary>
public readonly record struct DeviceMemorySample(long UsedBytes, long TotalBytes, double VramUtil, bool VramHigh)
{
    /// <summary>The vram-high threshold of DESIGN §5 (<c>drg_policy.vram_high</c>) when the caller has no other.</summary>
    public const double DefaultVramHighThreshold = 0.85;

    /// <summary>Bytes not in use (0 when the total is unknown or the used figure exceeds it).</summary>
    public long FreeBytes => Math.Max(0, TotalBytes - UsedBytes);

    /// <summary>A sample from byte counts: vram_util = clip(used / total, 0, 1) (0 when the total is unknown, i.e.
    /// not positive); vram_high = vram_util &gt; <paramref name="vramHighThreshold"/> — strictly greater, as §5's
    /// "vram &gt; vram_high" and §13 say, so a device exactly at the threshold is not under load.</summary>
    public static DeviceMemorySample FromBytes(long usedBytes, long totalBytes, double vramHighThreshold = DefaultVramHighThreshold)
    {
        var util = totalBytes > 0 ? Math.Clamp((double)usedBytes / totalBytes, 0.0, 1.0) : 0.0;
        return new DeviceMemorySample(usedBytes, totalBytes, util, util > vramHighThreshold);
    }

    /// <summary>Checks a threshold given by a caller (finite, in [0, 1]).</summary>
    internal static double CheckThreshold(double vramHighThreshold, string paramName) =>
        double.IsFinite(vramHighThreshold) && vramHighThreshold is >= 0.0 and <= 1.0
            ? vramHighThreshold
            : throw new ArgumentOutOfRangeException(paramName, vramHighThreshold, "the vram-high threshold is a share in [0, 1]");
}
