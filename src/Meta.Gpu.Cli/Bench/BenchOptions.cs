using Meta.Gpu.Compute;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// What <c>meta-gpu bench</c> runs. The defaults are the standard run of DESIGN §13/§15: the dense workloads at
/// N=64, D=1,048,576 on <c>cpu</c>, the device backends present and every peer present; <c>ilgpu-cpu</c> (about a
/// hundred times slower than <c>cpu</c>) at <see cref="SmallN"/> x <see cref="SmallD"/> only, beside <c>cpu</c> at
/// the same size; the host workloads (governance, bus, agent) on <c>cpu</c>.
/// </summary>
/// <remarks>
/// Setting <see cref="N"/> or <see cref="D"/> runs every selected backend, <c>ilgpu-cpu</c> included, at that one
/// size (the user asked for it). <see cref="Quick"/> shrinks everything for smoke runs and tests: a small batch,
/// 3 repeats, a 16 MB bandwidth array (the §13 reference is 256 MB; the JSON says which size was used).
/// </remarks>
public sealed record BenchOptions
{
    public const int StandardN = 64;
    public const int StandardD = 1 << 20;
    public const int SmallN = 16;
    public const int SmallD = 16_384;
    public const int QuickN = 8;
    public const int QuickD = 4096;

    /// <summary>Folder for bench.json, bench.md and bench.png (created when missing).</summary>
    public string OutDir { get; init; } = ".";

    public IReadOnlyList<string> Workloads { get; init; } = BenchWorkloads.All;

    public IReadOnlyList<string> Backends { get; init; } = BenchBackends.All;

    /// <summary>Domains (rows) for every backend; null = the defaults above.</summary>
    public int? N { get; init; }

    /// <summary>Parameters (columns) for every backend; null = the defaults above.</summary>
    public int? D { get; init; }

    /// <summary>Timed calls per case; the median, min and max are reported.</summary>
    public int Repeats { get; init; } = 5;

    /// <summary>Timed seconds after which a row stops repeating once it has 3 repeats (see <see cref="Stopwatches"/>).</summary>
    public TimeSpan RowBudget { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Untimed calls before the timed ones (JIT, caches, device uploads).</summary>
    public int Warmup { get; init; } = 1;

    public bool Quick { get; init; }

    /// <summary>Size of the read-bandwidth array (DESIGN §13: 256 MB).</summary>
    public int BandwidthMegabytes { get; init; } = 256;

    /// <summary>
    /// Size of the device read-stream array measured when a <c>cuda</c> or <c>opencl</c> backend starts (its rows'
    /// share of read divides by that device's figure): 1024 MB, also with --quick, since a GPU streams it in under a
    /// millisecond and a smaller array would partly fit its L2 (see <c>DeviceBandwidth</c>). 1 to 4096 MB; the device
    /// needs twice this free (the copy's target).
    /// </summary>
    public int DeviceBandwidthMegabytes { get; init; } = DeviceBandwidth.DefaultMegabytes;

    /// <summary>Governance <c>Update</c> calls per timed repeat.</summary>
    public int GovernanceCalls { get; init; } = 200_000;

    /// <summary>Events published per timed repeat of the bus workload (each delivered to 4 subscribers).</summary>
    public int BusEvents { get; init; } = 100_000;

    /// <summary>trim_alpha of the standard workload (§13).</summary>
    public double TrimAlpha { get; init; } = 0.1;

    /// <summary>Reptile beta of the step workloads (§8 beta_init).</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>The Python used for the numpy and PyTorch peers; null = META_GPU_PYTHON, then python3 on PATH, then /usr/bin/python3.</summary>
    public string? Python { get; init; }

    /// <summary>Device backends run every column through the combine kernel (<see cref="IlgpuBackend.DenseKernels"/>
    /// off): the baseline the dense kernels are measured against. Default false.</summary>
    public bool BaselineDeviceKernels { get; init; }

    /// <summary>
    /// Engine rows run §4's outlier pass with the library's defaults (<see cref="Meta.Gpu.Learning.Aggregation.CrossMetaConfig.Default"/>:
    /// column medians, each domain's distance to them, the z-rule from its minimum number of domains), the one
    /// setting in which the default configuration differs from §13's standard workload. The peers have no outlier
    /// pass, so their rows are reported skipped. Default false (the standard workload).
    /// </summary>
    public bool OutlierFilter { get; init; }

    /// <summary>
    /// Every domain's confidence 1.0 instead of draws in [0.3, 1), for engine and peers alike: the weights
    /// <c>weighting=uniform</c> gives, under which the weighted median is the median (<see cref="Meta.Gpu.Compute.EqualWeights"/>)
    /// and the confidence-weighted mean the plain mean. Default false (the standard workload's confidence weights).
    /// </summary>
    public bool EqualWeights { get; init; }

    /// <summary>
    /// A peer whose result disagrees with the engine's on the same batch (<see cref="PeerAgreement"/>) is reported
    /// either way (its rows, a warning); by default the run then exits 1, since its ratios compare different
    /// results. True: exit 0 all the same (a peer changed on purpose, an exploratory run). Default false.
    /// </summary>
    public bool AllowDisagreement { get; init; }

    /// <summary>Timeout of one peer process.</summary>
    public TimeSpan PeerTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The smoke-run settings (applied before explicit flags).</summary>
    public static BenchOptions QuickDefaults { get; } = new()
    {
        Quick = true,
        Repeats = 3,
        Warmup = 1,
        BandwidthMegabytes = 16,
        RowBudget = TimeSpan.FromSeconds(2),
        GovernanceCalls = 20_000,
        BusEvents = 10_000,
    };

    /// <summary>The sizes the dense workloads of <paramref name="backend"/> run at.</summary>
    public (int N, int D) SizeFor(string backend)
    {
        if (N is not null || D is not null)
            return (N ?? (Quick ? QuickN : StandardN), D ?? (Quick ? QuickD : StandardD));
        if (Quick) return (QuickN, QuickD);
        return backend == BenchBackends.IlgpuCpu ? (SmallN, SmallD) : (StandardN, StandardD);
    }

    /// <summary>Checks every field; the message names the flag.</summary>
    public BenchOptions Validated()
    {
        foreach (var w in Workloads)
            if (!BenchWorkloads.All.Contains(w))
                throw new InvalidInputException($"--workloads: unknown workload \"{w}\" (valid: {string.Join(", ", BenchWorkloads.All)})");
        foreach (var b in Backends)
            if (!BenchBackends.All.Contains(b))
                throw new InvalidInputException($"--backends: unknown backend \"{b}\" (valid: {string.Join(", ", BenchBackends.All)})");
        if (Workloads.Count == 0) throw new InvalidInputException("--workloads: at least one workload is needed");
        if (Backends.Count == 0) throw new InvalidInputException("--backends: at least one backend is needed");
        if (N is < 1) throw new InvalidInputException($"--n: must be >= 1, got {N}");
        if (D is < 1) throw new InvalidInputException($"--d: must be >= 1, got {D}");
        // Either size given alone runs with the other's default: the check is on the sizes that will run.
        foreach (var backend in Backends)
        {
            var (n, d) = SizeFor(backend);
            if (d > DomainBatch.MaxColumns)
                throw new InvalidInputException($"--d: {d} is too wide for one row (at most {DomainBatch.MaxColumns} columns, padding included)");
            if ((long)n * DomainBatch.ChooseStride(d) > Array.MaxLength)
                throw new InvalidInputException($"--n x --d: {n} x {d} is too large for one batch (N x the padded row of {DomainBatch.ChooseStride(d)} floats must stay within {Array.MaxLength} cells)");
        }
        if (Repeats < 1) throw new InvalidInputException($"--repeats: must be >= 1, got {Repeats}");
        if (Warmup < 0) throw new InvalidInputException($"--warmup: must be >= 0, got {Warmup}");
        if (BandwidthMegabytes < 1) throw new InvalidInputException($"bandwidth array: must be >= 1 MB, got {BandwidthMegabytes}");
        if (DeviceBandwidthMegabytes is < 1 or > DeviceBandwidth.MaxMegabytes)
            throw new InvalidInputException($"--device-bandwidth-mb: must be 1 to {DeviceBandwidth.MaxMegabytes} MB, got {DeviceBandwidthMegabytes}");
        if (!(TrimAlpha >= 0 && TrimAlpha < 0.5)) throw new InvalidInputException($"trim_alpha: must be in [0, 0.5), got {TrimAlpha}");
        // A mistyped interpreter would otherwise surface only at the end of a long run, as peer rows skipped.
        // Given but empty (a script's --python "$PY" with PY unset) is no interpreter either: not the defaults' one.
        if (Python is not null && !PythonPeer.Resolves(Python))
            throw new InvalidInputException($"--python: \"{Python}\" is neither a file nor a command on PATH");
        return this;
    }
}
