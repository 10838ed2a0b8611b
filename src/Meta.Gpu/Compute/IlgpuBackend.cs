using System.Runtime.ExceptionServices;
using ILGPU;
using ILGPU.Runtime;
using Meta.Gpu.Kernels;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Compute;

/// <summary>
/// The ILGPU backends (DESIGN §13): <c>cuda</c>, <c>opencl</c> and <c>ilgpu-cpu</c> run the same kernels of
/// <c>Meta.Gpu.Kernels</c>; only the accelerator differs.
/// </summary>
/// <remarks>
/// <para>Residency: the batch is uploaded once and kept on the device while the same <see cref="DomainBatch"/>
/// comes back with the same <see cref="DomainBatch.Version"/> (one resident batch at a time, held through a
/// weak reference so the cache never keeps a batch alive). The prior lives in a device buffer that is reused
/// across rounds; each step copies the stepped prior back to the host (through page-locked staging, once the
/// whole step has succeeded), so the host array is always the truth. A
/// prior passed as a span is uploaded by every step; a <see cref="ResidentPrior"/> is uploaded only when the
/// device holds no copy of its current <see cref="ResidentPrior.Version"/> (another prior, or a host write since),
/// so steady rounds on a resident batch move D floats once per round (down) rather than twice.</para>
/// <para>Chunking: when the batch (plus its per-column outputs) does not fit in <see cref="MemoryShare"/> of
/// the device's free memory, the columns are processed in chunks sized from the free memory; each chunk is
/// packed on the host and streamed, and nothing stays resident. <see cref="ChunkColumns"/> forces a chunk
/// width (tests use it to exercise several chunks on ilgpu-cpu).</para>
/// <para>Numbers: every discrete decision (ranks, trim boundaries, the weighted-median pick, empty columns)
/// and the outlier distances are float64 on the device, as the float64 reference makes them; see
/// <see cref="CombineKernel"/>. Participating rows must have no non-finite present cell (eligibility rejects
/// them first); their order in (value, row) sorting is undefined otherwise.</para>
/// <para>Calls are serialised: one backend drives one device stream. Its device's memory is read through
/// <see cref="DeviceTelemetry.ForBackend(IComputeBackend, double, TimeSpan?, ILogger?)"/>, which shares the accelerator.</para>
/// <para>Device telemetry (DESIGN §13): after every call the backend reports the device bytes it holds to the
/// process-wide <see cref="DeviceAllocationLedger"/> of its kind (and gives them back when disposed); OpenCL
/// telemetry counts them as the device's used memory, and OpenCL chunk planning takes free = total - held, since
/// OpenCL cannot ask the device what is free.</para>
/// </remarks>
public sealed class IlgpuBackend : IComputeBackend
{
    /// <summary>Share of the free device memory a round may use; the rest is left to other users of the device.</summary>
    public const double MemoryShare = 0.8;

    /// <summary>Most segments one row is split into for the per-row passes (scan, distances).</summary>
    private const int MaxSegments = 1024;

    private readonly object _gate = new();
    private readonly KernelAccelerator _device;
    private readonly ILogger _logger;

    private readonly DeviceBuffer<float> _residentValues;
    private readonly DeviceBuffer<byte> _residentMask;
    private WeakReference<DomainBatch>? _residentBatch;
    private long _residentVersion;
    // Which resident prior's values the device prior buffer holds, and of which version (valid while _priorHeld).
    // One weak reference, retargeted, so steady rounds allocate nothing for it.
    private WeakReference<ResidentPrior>? _priorOwner;
    private long _priorVersion;
    private bool _priorHeld;

    private readonly DeviceBuffer<float> _chunkValues;
    private readonly DeviceBuffer<byte> _chunkMask;
    private float[] _stagingValues = [];
    private byte[] _stagingMask = [];

    private readonly DeviceBuffer<int> _rows;
    private readonly DeviceBuffer<double> _weights;
    private readonly DeviceBuffer<double> _shares;
    private readonly DeviceBuffer<double> _medians;
    private readonly DeviceBuffer<float> _aggregate;
    private readonly DeviceBuffer<float> _prior;
    private readonly HostStaging<float> _priorStaging;
    private readonly HostStaging<float> _aggregateStaging;
    private readonly DeviceBuffer<int> _counter;
    private readonly DeviceBuffer<int> _columnSent;
    private readonly DeviceBuffer<int> _partialInts;
    private readonly DeviceBuffer<int> _partialFlags;
    private readonly DeviceBuffer<double> _partialSums;
    private readonly DeviceBuffer<int> _rowInts;
    private readonly DeviceBuffer<int> _rowFlags;
    private readonly DeviceBuffer<double> _rowSums;
    private bool _disposed;
    private long _reportedBytes;

    private IlgpuBackend(KernelAccelerator device, ILogger logger)
    {
        _device = device;
        _logger = logger;
        var a = device.Accelerator;
        _residentValues = new(a);
        _residentMask = new(a);
        _chunkValues = new(a);
        _chunkMask = new(a);
        _rows = new(a);
        _weights = new(a);
        _shares = new(a);
        _medians = new(a);
        _aggregate = new(a);
        _prior = new(a);
        _priorStaging = new(a);
        _aggregateStaging = new(a);
        _counter = new(a);
        _columnSent = new(a);
        _partialInts = new(a);
        _partialFlags = new(a);
        _partialSums = new(a);
        _rowInts = new(a);
        _rowFlags = new(a);
        _rowSums = new(a);
    }

    /// <summary>"cuda", "opencl" or "ilgpu-cpu".</summary>
    public string Name => DeviceKindNames.Of(_device.Kind);

    /// <summary>The device's name as its driver reports it.</summary>
    public string DeviceName => _device.DeviceName;

    /// <summary>Forces the column chunk width (null, the default: from free device memory; a width &gt;= D
    /// keeps the batch resident when it fits).</summary>
    public int? ChunkColumns { get; set; }

    /// <summary>Chunks the last call ran in (1 = whole batch); for logs and tests.</summary>
    public int LastChunkCount { get; private set; }

    /// <summary>
    /// Whether combines over a batch without a mask run the kernels that read each cell once (default: true, where
    /// they serve): <see cref="WeightedMeanKernel"/> for the mean, <see cref="TrimmedMeanNetworkKernel"/> for the
    /// trimmed mean, <see cref="MedianNetworkKernel"/> for the median and the outlier pass's column medians and
    /// <see cref="WeightedMedianNetworkKernel"/> for the weighted median (both up to 64 rows), and
    /// <see cref="SortedRunsMedianKernel"/> for the median and the column medians of 65..256 rows,
    /// <see cref="SortedRunsTrimmedMeanKernel"/> for the longer trims of 65..256 rows and
    /// <see cref="BitonicWeightedMedianKernel"/> for the weighted median of 65..256 rows. False runs every column
    /// through <see cref="CombineKernel"/> and <see cref="ColumnMedianKernel"/>, the same values: the baseline they
    /// are checked and measured against.
    /// </summary>
    public bool DenseKernels { get; set; } = true;

    /// <summary>
    /// Device time of the last combine's kernels (the aggregate, and the Reptile step fused in it), measured by
    /// profiling markers on the device's stream (CUDA events on a GPU) around the launches alone: no upload or
    /// download of the prior, the aggregate or the batch. What a benchmark compares with the device's read
    /// bandwidth; the call's wall-clock time adds those transfers.
    /// </summary>
    public TimeSpan LastKernelTime { get; private set; }

    /// <summary>Combines the dense kernels ran so far; for logs and tests.</summary>
    public int DenseCombines { get; private set; }

    /// <summary>The kernel the last combine ran; for tests.</summary>
    internal DenseCombineKernel LastCombineKernel { get; private set; }

    /// <summary>Combines so far whose row list was the batch's leading rows (every domain taking part), which the
    /// network and sorted-runs kernels (trimmed mean, median) read without a row lookup; for tests (a list wrongly taken for a
    /// leading one reads the wrong rows, one wrongly refused costs only time).</summary>
    public int LeadingRowCombines { get; private set; }

    /// <summary>Columns the dense kernels handed to the walks so far (a non-finite cell: the kernels settle ties
    /// themselves): a few in a thousand on real data; far more means a dense kernel has stopped deciding for itself,
    /// which no result would show, only the time.</summary>
    public long HandedOverColumns { get; private set; }

    /// <summary>Uploads of a batch to the resident copy so far; a steady batch uploads once.</summary>
    public int ResidentUploads { get; private set; }

    /// <summary>Uploads of a prior (or of a chunk of one) for a step so far; a <see cref="ResidentPrior"/> stepped
    /// round after round on a resident batch uploads once.</summary>
    public int PriorUploads { get; private set; }

    /// <summary>Device bytes this backend holds after its last call (0 once disposed).</summary>
    public long DeviceBytesHeld => Interlocked.Read(ref _reportedBytes);

    /// <summary>The accelerator, for device telemetry that shares it (<see cref="DeviceTelemetry.ForBackend(IComputeBackend, double, TimeSpan?, ILogger?)"/>).</summary>
    internal KernelAccelerator Accelerator => _device;

    /// <summary>The device, as telemetry labels it: the backend name and the driver's device name.</summary>
    public string Device => $"{Name} {DeviceName}";

    /// <summary>
    /// The backend <paramref name="kind"/> ("cuda", "opencl", "ilgpu-cpu") on its first usable device, with the
    /// kernels loaded. Throws <see cref="ArgumentException"/> for any other name, and
    /// <see cref="InvalidOperationException"/> saying why when the machine has no usable such device (no driver,
    /// no device, an OpenCL device without generic address space or float64) or the device fails to start.
    /// This is the factory a backend registry calls.
    /// </summary>
    public static IlgpuBackend Create(string kind, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (!DeviceKindNames.TryParse(kind, out var deviceKind))
            throw new ArgumentException($"unknown ILGPU backend \"{kind}\" (cuda, opencl, ilgpu-cpu)", nameof(kind));
        logger ??= NullLogger.Instance;
        KernelAccelerator? device;
        try
        {
            device = KernelAccelerator.TryCreate(deviceKind);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidOperationException($"{kind}: the device failed to start: {e.Message}", e);
        }
        if (device is null) throw new InvalidOperationException($"{kind}: {AbsenceReason(deviceKind)}");
        logger.LogInformation("{Backend}: using {Device}", kind, device.DeviceName);
        return new IlgpuBackend(device, logger);
    }

    /// <summary>
    /// <see cref="Create"/>, or null when the machine has no usable such device or it fails to start; the reason
    /// is logged (a start failure as a warning, with its exception). Throws <see cref="ArgumentException"/> for a
    /// name that is not an ILGPU backend.
    /// </summary>
    public static IlgpuBackend? TryCreate(string kind, ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        try
        {
            return Create(kind, logger);
        }
        catch (InvalidOperationException e) when (e.InnerException is not null)
        {
            logger.LogWarning(e, "{Message}", e.Message);
            return null;
        }
        catch (InvalidOperationException e)
        {
            logger.LogDebug("{Message}", e.Message);
            return null;
        }
    }

    /// <summary>Whether <paramref name="weights"/> sum to a positive, finite total (the dense kernels' premise).</summary>
    private static bool SumsNormally(ReadOnlySpan<double> weights)
    {
        var sum = 0.0;
        foreach (var w in weights) sum += w;
        return sum > 0 && double.IsFinite(sum);
    }

    private static string AbsenceReason(DeviceKind kind)
    {
        var unusable = ListDevices().Where(d => d.Kind == kind && !d.Usable).Select(d => $"{d.Name}: {d.Reason}").ToList();
        return unusable.Count > 0
            ? $"no usable device ({string.Join("; ", unusable)})"
            : "no device found (no driver or no device on this machine)";
    }

    /// <summary>Every device ILGPU sees (for <c>meta-gpu devices</c>).</summary>
    public static IReadOnlyList<DeviceInfo> ListDevices() => KernelAccelerator.ListDevices();

    public void ScanRows(DomainBatch batch, Span<RowScan> result)
    {
        // Here as well as under the gate: a call that returns before it reaches the device must refuse too.
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(batch);
        if (result.Length < batch.Rows) throw new ArgumentException($"result holds {result.Length} rows, the batch has {batch.Rows}", nameof(result));
        var n = batch.Rows;
        if (n == 0) return;
        lock (_gate)
        {
            ThrowIfDisposed();
            using var binding = Bind();
            using var report = new HeldBytesReport(this);
            var counts = new int[n];
            var flags = new int[n];
            var chunkCounts = new int[n];
            var chunkFlags = new int[n];
            var k = _device.Kernels;
            foreach (var chunk in Chunks(batch))
            {
                var segments = Math.Min(chunk.Width, MaxSegments);
                var partialCounts = _partialInts.View((long)n * segments);
                var partialFlags = _partialFlags.View((long)n * segments);
                var rowCounts = _rowInts.View(n);
                var rowFlags = _rowFlags.View(n);
                k.ScanPartials(n * segments, chunk.Matrix, segments, partialCounts, partialFlags);
                k.ScanReduce(n, segments, partialCounts, partialFlags, rowCounts, rowFlags);
                Copy.ToHost(Stream, rowCounts, chunkCounts);
                Copy.ToHost(Stream, rowFlags, chunkFlags);
                for (var i = 0; i < n; i++)
                {
                    counts[i] += chunkCounts[i];
                    flags[i] |= chunkFlags[i];
                }
            }
            for (var i = 0; i < n; i++) result[i] = new RowScan(counts[i], flags[i] != 0);
        }
    }

    public void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (medians.Length < batch.Columns) throw new ArgumentException($"medians holds {medians.Length} columns, the batch has {batch.Columns}", nameof(medians));
        lock (_gate)
        {
            ThrowIfDisposed();
            using var binding = Bind();
            using var report = new HeldBytesReport(this);
            var rowView = _rows.Upload(rows);
            foreach (var chunk in Chunks(batch))
            {
                var deviceMedians = ChunkMedians(batch, chunk, rowView, rows.Length, AreLeading(rows), missingAsZero);
                Copy.ToHost(Stream, deviceMedians, medians.Slice(chunk.Start, chunk.Width));
            }
        }
    }

    public void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (medians.Length < batch.Columns) throw new ArgumentException($"medians holds {medians.Length} columns, the batch has {batch.Columns}", nameof(medians));
        if (distances.Length < rows.Length) throw new ArgumentException($"distances holds {distances.Length} rows, {rows.Length} were given", nameof(distances));
        var n = rows.Length;
        if (n == 0) return;
        lock (_gate)
        {
            ThrowIfDisposed();
            using var binding = Bind();
            using var report = new HeldBytesReport(this);
            var totals = new DistanceTotals(n);
            var rowView = _rows.Upload(rows);
            foreach (var chunk in Chunks(batch))
            {
                var medianView = _medians.Upload(medians.Slice(chunk.Start, chunk.Width));
                AddDistances(batch, chunk, rowView, n, missingAsZero, medianView, totals);
            }
            totals.WriteDistances(distances);
        }
    }

    /// <summary>
    /// Both passes of the outlier step per chunk with the medians left where they were computed: the distance
    /// kernels read them on the device, so the D float64 medians go down once (for a caller that asks for them:
    /// the aggregator does not) and never back up, and a chunked batch is packed and uploaded once instead of
    /// twice. The same values as <see cref="ColumnMedians"/> then <see cref="RowDistances"/> (the same kernels on
    /// the same medians).
    /// </summary>
    public void MediansAndDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians, Span<double> distances)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (!medians.IsEmpty && medians.Length < batch.Columns)
            throw new ArgumentException($"medians holds {medians.Length} columns, the batch has {batch.Columns} (or pass none)", nameof(medians));
        if (distances.Length < rows.Length) throw new ArgumentException($"distances holds {distances.Length} rows, {rows.Length} were given", nameof(distances));
        var n = rows.Length;
        if (n == 0)
        {
            if (!medians.IsEmpty) ColumnMedians(batch, rows, missingAsZero, medians);
            return;
        }
        lock (_gate)
        {
            ThrowIfDisposed();
            using var binding = Bind();
            using var report = new HeldBytesReport(this);
            var totals = new DistanceTotals(n);
            var rowView = _rows.Upload(rows);
            var leading = AreLeading(rows);
            foreach (var chunk in Chunks(batch))
            {
                var deviceMedians = ChunkMedians(batch, chunk, rowView, n, leading, missingAsZero);
                AddDistances(batch, chunk, rowView, n, missingAsZero, deviceMedians, totals);
                if (!medians.IsEmpty) Copy.ToHost(Stream, deviceMedians, medians.Slice(chunk.Start, chunk.Width));
            }
            totals.WriteDistances(distances);
        }
    }

    /// <summary>One chunk's column medians of <paramref name="rows"/> rows, left on the device: the sorting-network
    /// kernel where it serves (up to 64 rows, no mask), the sorted runs up to 256, else the walks.</summary>
    private ArrayView<double> ChunkMedians(DomainBatch batch, Chunk chunk, ArrayView<int> rowView, int rows, bool leading, bool missingAsZero)
    {
        var deviceMedians = _medians.View(chunk.Width);
        if (DenseKernels && MedianNetworkKernel.Serves(rows, batch.Mask is not null))
            _device.Kernels.MediansNetwork(chunk.Width, chunk.Matrix, rowView, rows, leading ? 1 : 0, deviceMedians);
        else if (DenseKernels && SortedRunsMedianKernel.Serves(rows, batch.Mask is not null))
            _device.Kernels.SortedRunsMedians(ColumnThreads(chunk), chunk.Matrix, rowView, rows, leading ? 1 : 0, deviceMedians);
        else
            _device.Kernels.Medians(chunk.Width, chunk.Matrix, rowView, rows, missingAsZero ? 1 : 0, deviceMedians);
        return deviceMedians;
    }

    /// <summary>Per-row sums of squared distances and present-cell counts, added chunk by chunk.</summary>
    private sealed class DistanceTotals(int rows)
    {
        public readonly double[] Sums = new double[rows];
        public readonly int[] Counts = new int[rows];
        public readonly double[] ChunkSums = new double[rows];
        public readonly int[] ChunkCounts = new int[rows];

        public void AddChunk()
        {
            for (var i = 0; i < Sums.Length; i++)
            {
                Sums[i] += ChunkSums[i];
                Counts[i] += ChunkCounts[i];
            }
        }

        public void WriteDistances(Span<double> distances)
        {
            for (var i = 0; i < Sums.Length; i++) distances[i] = Counts[i] == 0 ? double.NaN : Math.Sqrt(Sums[i] / Counts[i]);
        }
    }

    /// <summary>One chunk's squared distances to <paramref name="medianView"/> (the chunk's medians on the device),
    /// added to <paramref name="totals"/>.</summary>
    private void AddDistances(DomainBatch batch, Chunk chunk, ArrayView<int> rowView, int n, bool missingAsZero, ArrayView<double> medianView, DistanceTotals totals)
    {
        var k = _device.Kernels;
        var segments = Math.Min(chunk.Width, MaxSegments);
        var partialSums = _partialSums.View((long)n * segments);
        var partialCounts = _partialInts.View((long)n * segments);
        var rowSums = _rowSums.View(n);
        var rowCounts = _rowInts.View(n);
        // Without a mask every cell is present: "missing as zero" changes nothing and needs no column flags.
        var zero = missingAsZero && batch.Mask is not null;
        var sent = _columnSent.View(zero ? chunk.Width : 1);
        if (zero) k.ColumnSent(chunk.Width, chunk.Matrix, rowView, n, sent);
        k.DistancePartials(n * segments, chunk.Matrix, rowView, medianView, zero ? 1 : 0, sent, segments, partialSums, partialCounts);
        k.DistanceReduce(n, segments, partialSums, partialCounts, rowSums, rowCounts);
        Copy.ToHost(Stream, rowSums, totals.ChunkSums);
        Copy.ToHost(Stream, rowCounts, totals.ChunkCounts);
        totals.AddChunk();
    }

    public int Combine(
        DomainBatch batch,
        ReadOnlySpan<int> rows,
        ReadOnlySpan<double> weights,
        AggregationMethod method,
        double trimAlpha,
        bool missingAsZero,
        Span<float> aggregate,
        Span<float> prior,
        ReptileStep? step) =>
        RunCombine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step, null, unscanned: false).Empty;

    /// <summary>The combine with the step on a prior the device may keep from the last call (see the remarks).</summary>
    public int Combine(
        DomainBatch batch,
        ReadOnlySpan<int> rows,
        ReadOnlySpan<double> weights,
        AggregationMethod method,
        double trimAlpha,
        bool missingAsZero,
        Span<float> aggregate,
        ResidentPrior prior,
        ReptileStep step)
    {
        ArgumentNullException.ThrowIfNull(prior);
        return RunCombine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior.Values, step, prior, unscanned: false).Empty;
    }

    /// <summary>True: the stepped prior is downloaded into page-locked staging and copied into the host prior once
    /// the stream has finished, so a failed launch, a failed download or an unscanned combine that read a
    /// non-finite cell leaves the host prior as it was.</summary>
    public bool StepsPriorAtomically => true;

    /// <summary>On a batch without a mask: the combine kernel counts the columns where it read a non-finite
    /// cell.</summary>
    public bool CanCombineUnscanned(DomainBatch batch, AggregationMethod method)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Mask is null;
    }

    public int? CombineUnscanned(
        DomainBatch batch,
        ReadOnlySpan<int> rows,
        ReadOnlySpan<double> weights,
        AggregationMethod method,
        double trimAlpha,
        Span<float> aggregate,
        Span<float> prior,
        ReptileStep? step) =>
        RunUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step, null);

    /// <summary>The unscanned combine with the step on a prior the device may keep from the last call.</summary>
    public int? CombineUnscanned(
        DomainBatch batch,
        ReadOnlySpan<int> rows,
        ReadOnlySpan<double> weights,
        AggregationMethod method,
        double trimAlpha,
        Span<float> aggregate,
        ResidentPrior prior,
        ReptileStep step)
    {
        ArgumentNullException.ThrowIfNull(prior);
        return RunUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior.Values, step, prior);
    }

    /// <summary>Both unscanned combines: null when a non-finite cell was read, or when nothing was to be written
    /// (then no cell is read, so nothing could be noticed: the caller must scan).</summary>
    private int? RunUnscanned(
        DomainBatch batch,
        ReadOnlySpan<int> rows,
        ReadOnlySpan<double> weights,
        AggregationMethod method,
        double trimAlpha,
        Span<float> aggregate,
        Span<float> prior,
        ReptileStep? step,
        ResidentPrior? resident)
    {
        ThrowIfDisposed();
        CombineInput.CheckUnscanned(batch, Name);
        if (aggregate.IsEmpty && step is null) return null;
        var (empty, nonFinite) = RunCombine(batch, rows, weights, method, trimAlpha, false, aggregate, prior, step, resident, unscanned: true);
        return nonFinite == 0 ? empty : null;
    }

    /// <summary>Whether <paramref name="rows"/> lists the batch's rows 0, 1, 2, ... in order (every domain takes part).</summary>
    private static bool AreLeading(ReadOnlySpan<int> rows)
    {
        for (var k = 0; k < rows.Length; k++)
            if (rows[k] != k) return false;
        return true;
    }

    /// <summary>
    /// The combine kernel over every chunk: the empty columns and the columns with a non-finite cell. The aggregate
    /// and the stepped prior are downloaded into page-locked staging (the copy engine's full speed, where pageable
    /// memory goes through the driver's bounce buffer) and copied into <paramref name="aggregate"/> and
    /// <paramref name="prior"/> only when every chunk has finished; not at all when an <paramref name="unscanned"/>
    /// combine read a non-finite cell (see <see cref="StepsPriorAtomically"/>).
    /// </summary>
    private (int Empty, int NonFinite) RunCombine(
        DomainBatch batch,
        ReadOnlySpan<int> rows,
        ReadOnlySpan<double> weights,
        AggregationMethod method,
        double trimAlpha,
        bool missingAsZero,
        Span<float> aggregate,
        Span<float> prior,
        ReptileStep? step,
        ResidentPrior? resident,
        bool unscanned)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (weights.Length != rows.Length) throw new ArgumentException($"weights holds {weights.Length} values, {rows.Length} rows were given", nameof(weights));
        CombineInput.CheckWeightsAndTrim(weights, trimAlpha);
        CombineInput.CheckMethod(method);
        var write = !aggregate.IsEmpty;
        // Exactly D, as the cpu backend (the fallback) requires: a longer span was taken and only its first D values written.
        if (write && aggregate.Length != batch.Columns) throw new ArgumentException($"aggregate holds {aggregate.Length} columns, the batch has {batch.Columns}", nameof(aggregate));
        if (step is { } s)
        {
            if (prior.Length != batch.Columns) throw new ArgumentException($"prior holds {prior.Length} columns, the batch has {batch.Columns}", nameof(prior));
            CombineInput.CheckStep(s);
        }

        var settings = new CombineSettings
        {
            Method = method switch
            {
                AggregationMethod.Mean => CombineSettings.Mean,
                AggregationMethod.TrimmedMean => CombineSettings.TrimmedMean,
                AggregationMethod.Median => CombineSettings.Median,
                AggregationMethod.WeightedMedian => CombineSettings.WeightedMedian,
                _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown aggregation method"),
            },
            TrimAlpha = trimAlpha,
            MissingAsZero = missingAsZero ? 1 : 0,
            RowCount = rows.Length,
            LeadingRows = AreLeading(rows) ? 1 : 0,
            WriteAggregate = write ? 1 : 0,
            Step = step is null ? 0 : 1,
            Rule = step is { Rule: ReptileRule.Delta } ? CombineSettings.Delta : CombineSettings.Interpolate,
            Beta = step?.Beta ?? 0.0,
        };

        lock (_gate)
        {
            ThrowIfDisposed();
            using var binding = Bind();
            using var report = new HeldBytesReport(this);
            var rowView = _rows.Upload(rows);
            var weightView = _weights.Upload(weights);
            // [0] empty columns, [1] columns with a non-finite cell, [2] columns a dense kernel handed to the walks.
            var counter = _counter.View(3);
            ReadOnlySpan<int> zero = [0, 0, 0];
            Copy.ToDevice(Stream, counter, zero);
            var path = DenseCombinePath.Choose(DenseKernels, method, rows.Length, batch.Mask is not null, trimAlpha,
                method == AggregationMethod.WeightedMedian && EqualWeights.MakeWeightedMedianTheMedian(weights), SumsNormally(weights));
            if (path.IsDense) DenseCombines++;
            LastCombineKernel = path.Kernel;
            if (settings.LeadingRows != 0) LeadingRowCombines++;
            var shareView = path.TakesShares ? _shares.Upload(WeightShares(weights)) : _shares.View(1);
            var kernelTime = TimeSpan.Zero;
            if (step is not null) _priorStaging.Reserve(batch.Columns);
            if (write) _aggregateStaging.Reserve(batch.Columns);
            var whole = false;
            foreach (var chunk in Chunks(batch))
            {
                var aggregateView = _aggregate.View(write ? chunk.Width : 1);
                // Residency holds a whole prior: one chunk covering the batch, as long as the prior.
                whole = chunk.Width == batch.Columns && prior.Length == batch.Columns;
                var priorView = step is null ? _prior.View(1) : StepPrior(prior, chunk.Start, chunk.Width, whole ? resident : null);
                using var launched = Stream.AddProfilingMarker();
                var k = _device.Kernels;
                switch (path.Kernel)
                {
                    case DenseCombineKernel.WeightedMean:
                        k.WeightedMean(chunk.Width, chunk.Matrix, rowView, shareView, settings, aggregateView, priorView, counter);
                        break;
                    case DenseCombineKernel.TrimmedMeanNetwork:
                        k.TrimmedMeanNetwork(chunk.Width, chunk.Matrix, rowView, weightView, shareView, settings, path.Trim, aggregateView, priorView, counter);
                        break;
                    case DenseCombineKernel.TrimmedMeanSortedRuns:
                        k.SortedRunsTrimmedMean(ColumnThreads(chunk), chunk.Matrix, rowView, weightView, shareView, settings, path.Trim,
                            aggregateView, priorView, counter);
                        break;
                    case DenseCombineKernel.MedianNetwork:
                        k.MedianNetwork(chunk.Width, chunk.Matrix, rowView, weightView, settings, aggregateView, priorView, counter);
                        break;
                    case DenseCombineKernel.MedianSortedRuns:
                        k.SortedRunsMedian(ColumnThreads(chunk), chunk.Matrix, rowView, weightView, settings, aggregateView, priorView, counter);
                        break;
                    case DenseCombineKernel.WeightedMedianNetwork:
                        k.WeightedMedianNetwork(chunk.Width, chunk.Matrix, rowView, weightView, shareView, settings, aggregateView, priorView, counter);
                        break;
                    case DenseCombineKernel.WeightedMedianBitonic:
                        k.BitonicWeightedMedian(Groups(chunk, rows.Length), chunk.Matrix, rowView, weightView, shareView, settings,
                            SharedBitonicSort.SortLength(rows.Length), aggregateView, priorView, counter);
                        break;
                    default:
                        k.Combine(chunk.Width, chunk.Matrix, rowView, weightView, settings, aggregateView, priorView, counter);
                        break;
                }
                using (var done = Stream.AddProfilingMarker()) kernelTime += done.MeasureFrom(launched).Duration();
                if (step is not null) _priorStaging.DownloadAsync(Stream, priorView.SubView(0, chunk.Width), chunk.Start);
                if (write) _aggregateStaging.DownloadAsync(Stream, aggregateView.SubView(0, chunk.Width), chunk.Start);
            }
            LastKernelTime = kernelTime;
            Span<int> counts = [0, 0, 0];
            // Synchronises the stream: every kernel and download has finished (or thrown) before the prior is touched.
            Copy.ToHost(Stream, counter, counts);
            HandedOverColumns += counts[2];
            var guessFailed = unscanned && counts[1] > 0;
            if (write && !guessFailed) HostCopy.Copy(_aggregateStaging.Values(batch.Columns), aggregate);
            if (step is not null && !guessFailed)
            {
                HostCopy.Copy(_priorStaging.Values(batch.Columns), prior);
                // Both sides hold the stepped values now: the next step of this version needs no upload. The
                // version moves on, so that another backend holding an earlier copy of this prior uploads again.
                resident?.MarkChanged();
                if (whole && resident is not null)
                {
                    if (_priorOwner is null) _priorOwner = new WeakReference<ResidentPrior>(resident);
                    else _priorOwner.SetTarget(resident);
                    _priorVersion = resident.Version;
                    _priorHeld = true;
                }
            }
            return (counts[0], counts[1]);
        }
    }

    /// <summary>
    /// The device view of the prior columns [<paramref name="start"/>, + <paramref name="width"/>) about to be
    /// stepped: the device's own copy when it holds <paramref name="resident"/>'s current version, else uploaded
    /// from <paramref name="prior"/>. Either way the kernels change it next, so until the stepped values are back
    /// on the host the device copy matches no version.
    /// </summary>
    private ArrayView<float> StepPrior(ReadOnlySpan<float> prior, int start, int width, ResidentPrior? resident)
    {
        var held = resident is not null && _priorHeld && _priorOwner!.TryGetTarget(out var owner)
            && ReferenceEquals(owner, resident) && _priorVersion == resident.Version;
        _priorHeld = false;
        if (held) return _prior.View(width);
        PriorUploads++;
        return _prior.Upload(prior.Slice(start, width));
    }

    /// <summary>q_k = p_k / (p summed in row order): the shares the combine kernel computes per column, the same
    /// in every column of a batch without a mask (the dense kernels take them from here).</summary>
    internal static double[] WeightShares(ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights) total += w;
        var shares = new double[weights.Length];
        for (var k = 0; k < weights.Length; k++) shares[k] = weights[k] / total;
        return shares;
    }

    /// <summary>
    /// Frees the device buffers, the page-locked staging and the accelerator with its context, each one even when an
    /// earlier one throws (a driver error): the first such exception is rethrown once everything has been released.
    /// Afterwards the backend holds no device bytes, every method throws <see cref="ObjectDisposedException"/>, and
    /// Dispose does nothing.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            Exception? first = null;
            // Buffers are freed in the device's context; the accelerator itself goes last, and with it whatever a
            // failed release left (ILGPU disposes the objects still registered with an accelerator).
            try
            {
                _device.Accelerator.Bind();
            }
            catch (Exception e)
            {
                first = e;
            }
            foreach (var held in new IDisposable[]
                     {
                         _residentValues, _residentMask, _chunkValues, _chunkMask, _rows, _weights, _shares, _medians, _aggregate, _prior,
                         _counter, _columnSent, _partialInts, _partialFlags, _partialSums, _rowInts, _rowFlags, _rowSums, _priorStaging, _aggregateStaging,
                         _device,
                     })
            {
                try
                {
                    ReleaseStep(held);
                }
                catch (Exception e)
                {
                    first ??= e;
                }
            }
            // Nothing is left on the device, whatever a failed buffer still counts.
            ReportHeldBytes(0);
            if (first is not null) ExceptionDispatchInfo.Throw(first);
        }
    }

    /// <summary>Releases one thing <see cref="Dispose"/> frees (a device buffer, a staging buffer, the accelerator);
    /// tests make one throw.</summary>
    internal Action<IDisposable> ReleaseStep { get; set; } = held => held.Dispose();

    private readonly record struct Chunk(DenseMatrix Matrix, int Start, int Width);

    /// <summary>The column chunks of <paramref name="batch"/> on the device: one resident whole-batch chunk
    /// when it fits, else packed chunks uploaded one at a time (each valid until the next is produced).</summary>
    private IEnumerable<Chunk> Chunks(DomainBatch batch)
    {
        var width = PlanChunkColumns(batch);
        // In long, as the loop below: D + width - 1 and start + width pass int.MaxValue for the widest rows.
        var count = (int)(((long)batch.Columns + width - 1) / width);
        LastChunkCount = count;
        if (count == 1)
        {
            // The plan counted the chunk buffers of an earlier chunked round as free: they go before the upload.
            ReleaseChunks();
            yield return new Chunk(Resident(batch), 0, batch.Columns);
            yield break;
        }

        ReleaseResident();
        var hasMask = batch.Mask is not null;
        for (long start = 0; start < batch.Columns; start += width)
        {
            var w = (int)Math.Min(width, batch.Columns - start);
            yield return new Chunk(Pack(batch, (int)start, w, hasMask), (int)start, w);
        }
    }

    private DenseMatrix Resident(DomainBatch batch)
    {
        var hasMask = batch.Mask is not null;
        var current = _residentBatch is not null && _residentBatch.TryGetTarget(out var held) && ReferenceEquals(held, batch)
            && _residentVersion == batch.Version;
        if (!current)
        {
            _residentBatch = null;
            _residentValues.Upload(batch.Values);
            if (hasMask) _residentMask.Upload(batch.Mask);
            _residentBatch = new WeakReference<DomainBatch>(batch);
            _residentVersion = batch.Version;
            ResidentUploads++;
        }
        var values = _residentValues.View(batch.Values.Length);
        var mask = hasMask ? _residentMask.View(batch.Values.Length) : _residentMask.View(1);
        return new DenseMatrix(values, mask, batch.Stride, batch.Columns, hasMask);
    }

    private void ReleaseResident()
    {
        _residentBatch = null;
        _residentValues.Dispose();
        _residentMask.Dispose();
    }

    /// <summary>Frees the chunk buffers and their host staging arrays (a batch that fits whole needs none).</summary>
    private void ReleaseChunks()
    {
        _chunkValues.Dispose();
        _chunkMask.Dispose();
        _stagingValues = [];
        _stagingMask = [];
    }

    private DenseMatrix Pack(DomainBatch batch, int start, int width, bool hasMask)
    {
        var cells = batch.Rows * width;
        if (_stagingValues.Length < cells) _stagingValues = new float[cells];
        if (hasMask && _stagingMask.Length < cells) _stagingMask = new byte[cells];
        for (var row = 0; row < batch.Rows; row++)
        {
            Array.Copy(batch.Values, (long)row * batch.Stride + start, _stagingValues, (long)row * width, width);
            if (hasMask) Array.Copy(batch.Mask!, (long)row * batch.Stride + start, _stagingMask, (long)row * width, width);
        }
        var values = _chunkValues.Upload(_stagingValues.AsSpan(0, cells));
        var mask = hasMask ? _chunkMask.Upload(_stagingMask.AsSpan(0, cells)) : _chunkMask.View(1);
        return new DenseMatrix(values, mask, width, width, hasMask);
    }

    /// <summary>Columns per chunk for <paramref name="batch"/> on this device now (see <see cref="ColumnsPerChunk"/>).</summary>
    private int PlanChunkColumns(DomainBatch batch)
    {
        if (ChunkColumns is int forced) return Math.Clamp(forced, 1, batch.Columns);
        // Buffers this backend already holds are reusable for the new plan, so they count as free.
        var reusable = _residentValues.Bytes + _residentMask.Bytes + _chunkValues.Bytes + _chunkMask.Bytes;
        var budget = (long)((FreeDeviceBytes() + reusable) * MemoryShare);
        var width = ColumnsPerChunk(batch.Rows, batch.Stride, batch.Columns, batch.Mask is not null, budget);
        if (width < batch.Columns)
            _logger.LogDebug("{Backend}: batch {Rows}x{Columns} exceeds the device budget of {Budget} bytes; {Chunk} columns per chunk",
                Name, batch.Rows, batch.Columns, budget, width);
        return width;
    }

    /// <summary>
    /// Columns per chunk within <paramref name="budgetBytes"/> of device memory: all of them (the whole batch
    /// resident, padded stride included) when it fits with its per-column outputs and the per-row scratch; else
    /// as many packed columns as fit (fewer than D: a width of D means resident). Throws <see cref="InvalidOperationException"/> when not even one does.
    /// </summary>
    public static int ColumnsPerChunk(int rows, int stride, int columns, bool hasMask, long budgetBytes)
    {
        var cellBytes = sizeof(float) + (hasMask ? 1 : 0);
        const long columnOutputBytes = sizeof(double) + sizeof(float) + sizeof(float) + sizeof(int);
        var scratchBytes = (long)Math.Max(rows, 1) * MaxSegments * (sizeof(double) + 2 * sizeof(int)) + (1 << 20);
        var budget = budgetBytes - scratchBytes;

        var residentBytes = (long)rows * stride * cellBytes + columns * columnOutputBytes;
        if (residentBytes <= budget) return columns;

        var width = budget / ((long)rows * cellBytes + columnOutputBytes);
        if (width < 1)
            throw new InvalidOperationException($"device memory too small for one column of {rows} rows (budget {budgetBytes} bytes)");
        // A width of D means "resident"; a batch that only fits packed gets at least two chunks.
        return (int)Math.Min(width, Math.Max(columns - 1, 1));
    }

    private AcceleratorStream Stream => _device.Accelerator.DefaultStream;

    /// <summary>The launch of a bitonic kernel over <paramref name="chunk"/>: one group per column, as many threads as
    /// the device allows up to the kernel's cap.</summary>
    private KernelConfig Groups(Chunk chunk, int rows) => SharedBitonicSort.Launch(chunk.Width, rows, _device.Accelerator.MaxNumThreadsPerGroup);

    /// <summary>The launch of a sorted-runs kernel over <paramref name="chunk"/>: a thread per column.</summary>
    private KernelConfig ColumnThreads(Chunk chunk) => SortedRuns.Launch(chunk.Width, _device.Accelerator.MaxNumThreadsPerGroup);

    /// <summary>Makes the device current on the calling thread for the call (CUDA contexts are per thread, and
    /// callers may come from any thread) and restores the previous binding afterwards.</summary>
    private ScopedAcceleratorBinding Bind() => _device.Accelerator.BindScoped();

    private long HeldBytes() =>
        _residentValues.Bytes + _residentMask.Bytes + _chunkValues.Bytes + _chunkMask.Bytes + _rows.Bytes + _weights.Bytes + _shares.Bytes
        + _medians.Bytes + _aggregate.Bytes + _prior.Bytes + _counter.Bytes + _columnSent.Bytes + _partialInts.Bytes
        + _partialFlags.Bytes + _partialSums.Bytes + _rowInts.Bytes + _rowFlags.Bytes + _rowSums.Bytes;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Free device memory for chunk planning: the driver's figure where there is one (CUDA, the CPU
    /// accelerator); OpenCL has none, so its total less what the engine's backends hold on it.</summary>
    private long FreeDeviceBytes() => _device.Kind == DeviceKind.OpenCL
        ? Math.Max(0, _device.Accelerator.MemorySize - DeviceAllocationLedger.For(DeviceKind.OpenCL).BytesHeld)
        : _device.FreeMemoryBytes();

    /// <summary>Reports the change in held device bytes to the ledger of this backend's kind (under the gate).</summary>
    private void ReportHeldBytes() => ReportHeldBytes(HeldBytes());

    /// <summary>Reports <paramref name="held"/> bytes as what this backend holds now.</summary>
    private void ReportHeldBytes(long held)
    {
        var delta = held - Interlocked.Exchange(ref _reportedBytes, held);
        if (delta != 0) DeviceAllocationLedger.For(_device.Kind).Record(delta);
    }

    /// <summary>Reports held bytes when a call ends, however it ends.</summary>
    private readonly struct HeldBytesReport(IlgpuBackend backend) : IDisposable
    {
        public void Dispose() => backend.ReportHeldBytes();
    }

    /// <summary>Runs <paramref name="action"/> on the device under the gate, bound to the calling thread, between the
    /// backend's own calls (for <see cref="DeviceBandwidth"/>, which launches its own kernels on the device).</summary>
    internal T OnDevice<T>(Func<KernelAccelerator, T> action)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            using var binding = Bind();
            return action(_device);
        }
    }
}
