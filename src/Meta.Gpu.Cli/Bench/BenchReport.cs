namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// <c>bench.json</c> (DESIGN §15): the machine, the bandwidth reference of this run, and one row per workload and
/// backend. Fields beyond §15: every sample of the host's read stream (the reference is the fastest), the bandwidth
/// array size and threads, the workload configuration, each peer's
/// version or skip reason, when the run started and how long it took, and <see cref="DeviceBandwidth"/>: the read
/// and copy bandwidth of each device measured in the run (<see cref="ReadBandwidthGbs"/> is the host's; each row's
/// <c>read_reference</c> names which one its share divides by).
/// </summary>
public sealed record BenchReport(
    MachineInfo Machine,
    double ReadBandwidthGbs,
    double CopyBandwidthGbs,
    IReadOnlyList<BenchResult> Results)
{
    /// <summary>Every sample of the host's read stream taken in the run, in order (<see cref="HostReadSamples"/>):
    /// <see cref="ReadBandwidthGbs"/> is the fastest.</summary>
    public IReadOnlyList<double> ReadBandwidthSamplesGbs { get; init; } = [];

    public int BandwidthArrayMb { get; init; }

    public int BandwidthThreads { get; init; }

    public string Configuration { get; init; } = "";

    public IReadOnlyDictionary<string, string> Peers { get; init; } = new Dictionary<string, string>();

    /// <summary>Per device backend (<c>cuda</c>, <c>opencl</c>) and GPU peer (<c>pytorch</c>) that ran: its device's bandwidth.</summary>
    public IReadOnlyDictionary<string, DeviceBandwidthFigure> DeviceBandwidth { get; init; } = new SortedDictionary<string, DeviceBandwidthFigure>(StringComparer.Ordinal);

    public bool Quick { get; init; }

    /// <summary>The trimmed mean's trim_alpha in this run: k = floor(alpha x N) rows are trimmed from each end.</summary>
    public double TrimAlpha { get; init; } = 0.1;

    public DateTimeOffset StartedUtc { get; init; }

    public double ElapsedS { get; init; }
}
