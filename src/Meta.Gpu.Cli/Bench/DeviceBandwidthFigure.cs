using System.Text.Json.Serialization;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// One entry of <c>bench.json</c>'s <c>device_bandwidth</c> (a field beyond §15), keyed by the backend or peer
/// that measured it: the device's read bandwidth (bytes read / time) and copy bandwidth (bytes read + written /
/// time) over <see cref="Megabytes"/> MB of float32, how it was measured, or why it could not be.
/// </summary>
/// <remarks>
/// <c>cuda</c> and <c>opencl</c>: the engine's read stream (<c>DeviceBandwidth</c>), best of the repeats, over an
/// array of <c>--device-bandwidth-mb</c>. <c>pytorch</c>: the peer's own <c>x.sum()</c> and copy over its resident
/// batch, median of its repeats (a small batch fits the GPU's L2, so it is a cache figure there).
/// </remarks>
public sealed record DeviceBandwidthFigure(string Device, double? ReadGbs, double? CopyGbs, double? Megabytes, string Method)
{
    /// <summary>Why there is no figure (the measurement failed or the device's totals did not match its data).</summary>
    public string? Failed { get; init; }

    /// <summary>A read figure a share can divide by: measured, finite and positive.</summary>
    [JsonIgnore]
    public bool Usable => Failed is null && ReadGbs is { } r && double.IsFinite(r) && r > 0;

    public static DeviceBandwidthFigure Failure(string device, string method, string reason) =>
        new(device, null, null, null, method) { Failed = reason };
}
