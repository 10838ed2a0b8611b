namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// One row of <c>bench.json</c>'s <c>results</c> (DESIGN §15). Times are milliseconds per call; <see cref="Gbs"/>
/// is the bytes of the batch (N x D x 4) over the median time, null for the host workloads (governance, bus,
/// agent), which report <see cref="OpsPerS"/> instead. A skipped row has a reason and null figures.
/// </summary>
/// <remarks>
/// Fields beyond §15 (allowed: "add fields freely"): <c>ops_per_s</c> (calls or deliveries per second),
/// <c>allocated_bytes_per_op</c> (managed bytes allocated per call on the calling thread, steady state),
/// <c>lost</c> (bus deliveries missing after the run drained), <c>note</c> (what was timed, for the peers the
/// method they use), <c>read_reference</c> (whose read bandwidth <see cref="ShareOfRead"/> divides by:
/// <c>host</c>, <c>cuda</c>, <c>opencl</c> or <c>pytorch</c>; see <see cref="Bench.ReadReference"/>), <c>kernel_median_ms</c>,
/// <c>kernel_gbs</c>, <c>kernel_share_of_read</c> and <c>prior_uploads</c> (device rows); on peer rows,
/// <c>agrees</c>, <c>max_abs_diff</c>, <c>max_rel_diff</c>, <c>checked_against</c> and <c>agreement</c> (whether the
/// peer's result agrees with the engine's on the same batch; see <see cref="PeerAgreement"/>).
/// </remarks>
public sealed record BenchResult(
    string Workload,
    string Backend,
    int N,
    int D,
    double? MedianMs,
    double? MinMs,
    double? MaxMs,
    int Repeats,
    double? Gbs,
    double? ShareOfRead,
    string? Skipped)
{
    public double? OpsPerS { get; init; }

    public double? AllocatedBytesPerOp { get; init; }

    public long? Lost { get; init; }

    public string? Note { get; init; }

    /// <summary>The read bandwidth <see cref="ShareOfRead"/> is a share of (null when there is no share).</summary>
    public string? ReadReference { get; init; }

    /// <summary>Device backends: the median device time of the combine's kernels alone (device events; no transfer
    /// of the prior or the aggregate), over the same timed calls as <see cref="MedianMs"/>.</summary>
    public double? KernelMedianMs { get; init; }

    /// <summary>The batch's bytes over <see cref="KernelMedianMs"/>.</summary>
    public double? KernelGbs { get; init; }

    /// <summary><see cref="KernelGbs"/> over the same read reference as <see cref="ShareOfRead"/>.</summary>
    public double? KernelShareOfRead { get; init; }

    /// <summary>Device rows that step a prior: how many times the prior was uploaded during the timed calls (a
    /// resident prior: 0 once it is on the device; see <see cref="Compute.ResidentPrior"/>).</summary>
    public int? PriorUploads { get; init; }

    /// <summary>Peer rows: whether the peer's result agrees with the engine's on the same batch within DESIGN §13's
    /// tolerance (<see cref="PeerAgreement"/>); null on engine rows and when it was not checked (then
    /// <see cref="Agreement"/> says why).</summary>
    public bool? Agrees { get; init; }

    /// <summary>Peer rows: the largest absolute difference from the engine's result over the columns where both are
    /// finite (over every engine backend in <see cref="CheckedAgainst"/>).</summary>
    public double? MaxAbsDiff { get; init; }

    /// <summary>Peer rows: the largest |peer - engine| / (1 + |engine|), the scale of §13's tolerance: at most 1e-4
    /// where every finite value agrees (see <see cref="PeerAgreement.Comparison"/>).</summary>
    public double? MaxRelDiff { get; init; }

    /// <summary>Peer rows: the engine backends whose results the peer's was checked against.</summary>
    public string? CheckedAgainst { get; init; }

    /// <summary>Peer rows: what disagreed (the first column that differs), or why the result was not checked; null
    /// when it agrees.</summary>
    public string? Agreement { get; init; }

    /// <summary>The row with the kernels' device time of <paramref name="kernelMs"/> (the same calls as its times).</summary>
    public BenchResult WithKernelTimes(IReadOnlyList<double> kernelMs, long bytes, ReadReference? reference)
    {
        if (kernelMs.Count == 0) return this;
        var median = TimingSummary.Of(kernelMs).MedianMs;
        var gbs = GigabytesPerSecond(bytes, median);
        return this with { KernelMedianMs = median, KernelGbs = gbs, KernelShareOfRead = Share(gbs, reference) };
    }

    /// <summary>The row with its share of the host's read stream taken over <paramref name="readGbs"/> (a later,
    /// faster sample of the same run: <see cref="HostReadSamples"/>); rows of other references, or without a share,
    /// as they are.</summary>
    public BenchResult WithHostRead(double readGbs)
    {
        if (ReadReference != Bench.ReadReference.Host || readGbs <= 0 || !double.IsFinite(readGbs)) return this;
        var reference = new ReadReference(Bench.ReadReference.Host, readGbs);
        return this with { ShareOfRead = Share(Gbs, reference), KernelShareOfRead = KernelGbs is null ? KernelShareOfRead : Share(KernelGbs, reference) };
    }

    public static BenchResult Skip(string workload, string backend, int n, int d, string reason) =>
        new(workload, backend, n, d, null, null, null, 0, null, null, reason);

    /// <summary>A timed host row from per-call times; <paramref name="bytes"/> = the batch's bytes (0: no
    /// bandwidth); its share is of the host's <paramref name="readGbs"/>.</summary>
    public static BenchResult Timed(string workload, string backend, int n, int d, IReadOnlyList<double> timesMs, long bytes, double readGbs) =>
        Timed(workload, backend, n, d, timesMs, bytes, readGbs > 0 ? new Bench.ReadReference(Bench.ReadReference.Host, readGbs) : null);

    /// <summary>A timed row whose share divides by <paramref name="reference"/> (null: no share).</summary>
    public static BenchResult Timed(string workload, string backend, int n, int d, IReadOnlyList<double> timesMs, long bytes, ReadReference? reference)
    {
        var summary = TimingSummary.Of(timesMs);
        var gbs = GigabytesPerSecond(bytes, summary.MedianMs);
        var share = Share(gbs, reference);
        return new(workload, backend, n, d, summary.MedianMs, summary.MinMs, summary.MaxMs, timesMs.Count, gbs, share, null)
        {
            ReadReference = share is null ? null : reference!.Name,
        };
    }

    /// <summary><paramref name="bytes"/> over <paramref name="ms"/> in GB/s (10^9 bytes per second); null without
    /// bytes or time.</summary>
    private static double? GigabytesPerSecond(long bytes, double ms) => bytes > 0 && ms > 0 ? bytes / (ms * 1e-3) / 1e9 : null;

    /// <summary><paramref name="gbs"/> over the reference's read bandwidth; null without either.</summary>
    private static double? Share(double? gbs, ReadReference? reference) =>
        gbs is { } g && reference is { ReadGbs: > 0 } r ? g / r.ReadGbs : null;
}
