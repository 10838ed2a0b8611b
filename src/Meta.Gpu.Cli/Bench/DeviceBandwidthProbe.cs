using System.Globalization;
using Meta.Gpu.Compute;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// Measures a device backend's own read and copy bandwidth when it starts in the bench (<c>cuda</c>, <c>opencl</c>;
/// <c>ilgpu-cpu</c> reads host memory and keeps the host's figure), before any of its rows, so their share of read
/// divides by the memory they read. Also turns the PyTorch peer's own figures into an entry.
/// </summary>
public static class DeviceBandwidthProbe
{
    public const string EngineMethod = "engine read stream (grid-strided float32 sum, checked), best of the repeats; copy: device to device";
    public const string PeerMethod = "torch x.sum() over the resident batch (CUDA events), median of the repeats; copy: copy_ into a preallocated tensor";

    /// <summary>Whether <paramref name="backend"/>'s rows read device memory measured by the engine.</summary>
    public static bool Measures(string backend) => backend is BenchBackends.Cuda or BenchBackends.OpenCl;

    /// <summary>
    /// The device figure of <paramref name="backend"/> (an <see cref="IlgpuBackend"/>, bare or inside its CPU
    /// fallback). A failed measurement (too little device memory, a total that does not match the data, a driver
    /// error) is returned as a failure with its reason, never as a figure: the backend's rows are still timed, with
    /// no share of read.
    /// </summary>
    public static DeviceBandwidthFigure Measure(IComputeBackend backend, int megabytes, int repeats)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var device = EngineBackends.Device(backend);
        if (device is null)
            return DeviceBandwidthFigure.Failure(backend.Name, EngineMethod, $"{backend.Name} is not an ILGPU device backend");
        try
        {
            var m = DeviceBandwidth.Measure(device, megabytes, repeats);
            return new DeviceBandwidthFigure(m.DeviceName, m.ReadGbs, m.CopyGbs, m.Megabytes, EngineMethod);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not ArgumentException)
        {
            return DeviceBandwidthFigure.Failure(device.DeviceName, EngineMethod, e.Message);
        }
    }

    /// <summary>The peer's own figures, or null when it reported none (an older script, a skipped peer).</summary>
    public static DeviceBandwidthFigure? FromPeer(PeerRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.Skipped is not null || run.ReadGbs is null) return null;
        return new DeviceBandwidthFigure(run.Device ?? run.Peer, run.ReadGbs, run.CopyGbs, run.ReadMegabytes, PeerMethod);
    }

    /// <summary>One line for the console and bench.md.</summary>
    public static string Describe(string name, DeviceBandwidthFigure figure)
    {
        ArgumentNullException.ThrowIfNull(figure);
        var c = CultureInfo.InvariantCulture;
        if (figure.Failed is { } why) return $"{name} device bandwidth ({figure.Device}): not measured: {why}";
        var copy = figure.CopyGbs is { } copyGbs ? string.Create(c, $"copy {copyGbs:0.0} GB/s (read + written)") : "no copy figure";
        var size = figure.Megabytes is { } mb ? string.Create(c, $"{mb:0.###} MB float32") : "size not reported";
        return string.Create(c, $"{name} device bandwidth ({figure.Device}): read {figure.ReadGbs:0.0} GB/s, {copy}; {size}; {figure.Method}");
    }
}
