namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The host's read stream (DESIGN §13), sampled several times through one bench run; the reference of every host
/// row's share of read is the fastest sample (<see cref="Fastest"/>), the ceiling this machine reached in this run.
/// </summary>
/// <remarks>
/// One sample at the start of a run is not enough on a shared host: on the 2-core Zen 4 guest measured (thirty-ninth
/// session) the same read stream took 33.8 GB/s in one run and 49.7 and 54.1 GB/s in the two runs a minute later,
/// while the compute-bound kernels' times stayed put, so a run that sampled a slow moment reported shares of read
/// half as large again as the machine's. The harness samples again after each size's host rows and peers; every
/// sample reads the same filled array (<see cref="MemoryBandwidth.FilledArray"/>), so later samples cost a few
/// passes over it and no allocation.
/// </remarks>
public sealed class HostReadSamples
{
    private readonly float[] _source;
    private readonly List<double> _samples = [];

    /// <summary>Fills an array of <paramref name="megabytes"/> MB to sample; takes no sample yet.</summary>
    public HostReadSamples(int megabytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(megabytes, 1);
        _source = MemoryBandwidth.FilledArray(megabytes);
    }

    /// <summary>Every sample so far, in GB/s, in the order taken.</summary>
    public IReadOnlyList<double> Samples => _samples;

    /// <summary>The fastest sample so far; 0 before the first.</summary>
    public double Fastest => _samples.Count == 0 ? 0 : _samples.Max();

    /// <summary>The first sample: the read stream (recorded) and the copy bandwidth of the same run (not sampled again).</summary>
    public MemoryBandwidth.Measurement First(int repeats)
    {
        var measurement = MemoryBandwidth.Measure(_source, repeats);
        _samples.Add(measurement.ReadGbs);
        return measurement;
    }

    /// <summary>Another sample of the read stream alone: the fastest of <paramref name="repeats"/> timed sums after
    /// an untimed one.</summary>
    public double Take(int repeats)
    {
        var read = MemoryBandwidth.ReadGbs(_source, repeats);
        _samples.Add(read);
        return read;
    }
}
