namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The read bandwidth a row's <c>share_of_read</c> divides by (DESIGN §13: the read stream measured in the same
/// run), named in the row's <c>read_reference</c>: the memory the backend actually reads.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>cuda</c>, <c>opencl</c>: their own device's figure (<see cref="DeviceBandwidthFigure"/>); none when it
/// failed: a GPU row over the host's bandwidth would be a meaningless ratio.</item>
/// <item><c>pytorch</c> (runs on the GPU): the engine's <c>cuda</c> figure when one was measured in the run (the
/// same device, measured the same way as the engine's rows), else the peer's own read figure, else none. An
/// <c>opencl</c> figure is not used: that device may be another one.</item>
/// <item>Everything else (<c>cpu</c>, <c>ilgpu-cpu</c>, <c>numpy</c>, <c>torchsharp</c>) reads host memory: the
/// host's figure.</item>
/// </list>
/// </remarks>
public sealed record ReadReference(string Name, double ReadGbs)
{
    public const string Host = "host";

    /// <summary>The reference for <paramref name="backend"/>'s rows, or null when there is none to divide by.</summary>
    public static ReadReference? For(string backend, double hostReadGbs, IReadOnlyDictionary<string, DeviceBandwidthFigure> devices)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(devices);
        switch (backend)
        {
            case BenchBackends.Cuda or BenchBackends.OpenCl:
                return Device(backend, devices);
            case BenchBackends.PyTorch:
                return Device(BenchBackends.Cuda, devices) ?? Device(BenchBackends.PyTorch, devices);
            default:
                return hostReadGbs > 0 && double.IsFinite(hostReadGbs) ? new ReadReference(Host, hostReadGbs) : null;
        }
    }

    private static ReadReference? Device(string name, IReadOnlyDictionary<string, DeviceBandwidthFigure> devices) =>
        devices.TryGetValue(name, out var figure) && figure.Usable ? new ReadReference(name, figure.ReadGbs!.Value) : null;
}
