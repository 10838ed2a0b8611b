using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Meta.Gpu.Compute.Cpu;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute;

/// <summary>
/// The <c>cpu</c> backend (DESIGN §13): vectorised (Vector256 kernels with scalar tails; where the hardware runs
/// Vector512, the trimmed mean's selection pass and the weighted sum's float64 sweep use it) and multi-threaded over
/// chunks of columns. No ILGPU. It is the fallback of every device backend and the laptop path.
/// </summary>
/// <remarks>
/// Every discrete decision equals the float64 reference's: medians, distances and weight sums are float64, sorts
/// order (value, row) exactly, and the fast selection kernels detect the rare cases they cannot decide (ties at a
/// trim threshold) and redo those columns on the exact path. The exact path (gather a block of columns, sort
/// (value, row) pairs) serves masks, <c>missing_keys=zero</c> with a mask, and the methods without a fast kernel.
/// Reading the batch needs no lock; concurrent calls on one instance are safe. It holds nothing to free, but after
/// <see cref="Dispose"/> every method throws <see cref="ObjectDisposedException"/>, as the device backends do.
/// </remarks>
public sealed unsafe class CpuBackend : IComputeBackend
{
    public const string BackendName = "cpu";

    /// <summary>Columns gathered together on the exact path (their cells stay in L1/L2).</summary>
    private const int ExactBlock = 32;

    private readonly ParallelOptions parallel;

    private bool disposed;

    /// <param name="maxDegreeOfParallelism">Worker threads; default: every logical processor.</param>
    public CpuBackend(int? maxDegreeOfParallelism = null)
    {
        Workers = Math.Max(1, maxDegreeOfParallelism ?? Environment.ProcessorCount);
        parallel = new ParallelOptions { MaxDegreeOfParallelism = Workers };
    }

    public string Name => BackendName;

    /// <summary>Threads a call may use.</summary>
    public int Workers { get; }

    /// <summary>When false, every primitive runs on the exact path (the tests compare both).</summary>
    public bool UseFastKernels { get; init; } = true;

    /// <summary>
    /// What the trimmed mean's selection pass sorts: eight columns per Vector256, or sixteen per Vector512 as int keys
    /// or floats; default: the fastest measured for this kind of machine (<see cref="FastestSelectionLanes"/>). With
    /// Vector512 lanes the trimmed mean's second pass (the weighted sum of the kept cells) runs on Vector512 too. The
    /// median kernels are Vector256 kernels; the weighted sum has its own Vector512 float64 sweep. Tests set each on
    /// every machine (without AVX-512 the runtime emulates Vector512: correct, slow).
    /// </summary>
    internal SelectionLanes SelectionLanes { get; init; } = FastestSelectionLanes.OnThisMachine;

    /// <summary>
    /// How many times its lists' L1-sized block the trimmed mean's selection pass streams per block; default: the
    /// fastest measured for this kind of machine (<see cref="SelectionBlocks"/>). Tests set each on every machine.
    /// </summary>
    internal int SelectionBlockScale { get; init; } = SelectionBlocks.ScaleOnThisMachine;

    /// <summary>The widest vectors the fast kernels run with on this machine.</summary>
    public static string VectorWidth =>
        Vector512.IsHardwareAccelerated ? "vector512" : Vector256.IsHardwareAccelerated ? "vector256" : Vector128.IsHardwareAccelerated ? "vector128" : "scalar";

    public void ScanRows(DomainBatch batch, Span<RowScan> result)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        if (result.Length < batch.Rows) throw new ArgumentException("result must hold one entry per row", nameof(result));
        var scans = new RowScan[batch.Rows];
        Parallel.For(0, batch.Rows, parallel, i => scans[i] = RowKernels.Scan(batch, i));
        scans.CopyTo(result);
    }

    public void ScanRows(DomainBatch batch, ReadOnlySpan<int> rows, Span<RowScan> result)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (result.Length < rows.Length) throw new ArgumentException("result must hold one entry per listed row", nameof(result));
        var listed = rows.ToArray();
        var scans = new RowScan[listed.Length];
        Parallel.For(0, listed.Length, parallel, i => scans[i] = RowKernels.Scan(batch, listed[i]));
        scans.CopyTo(result);
    }

    public void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (medians.Length < batch.Columns) throw new ArgumentException("medians must be D long", nameof(medians));
        var rowArray = rows.ToArray();
        // Without a mask every cell is present, so the sorting-network median serves (missing_keys cannot apply).
        var fast = UseFastKernels && batch.Mask is null && rowArray.Length is > 0 and <= MedianKernel.MaxRows;
        var chunk = ChunkWidth(batch.Columns);
        var chunks = (batch.Columns + chunk - 1) / chunk;
        fixed (double* m = medians)
        {
            var mp = (nint)m;
            Parallel.For(0, chunks, parallel, ci =>
            {
                var c0 = ci * chunk;
                var c1 = Math.Min(batch.Columns, c0 + chunk);
                var output = new Span<double>((void*)mp, batch.Columns);
                var start = fast ? MedianKernel.Run(batch, rowArray, c0, c1, output) : c0;
                ExactMedians(batch, rowArray, missingAsZero, start, c1, output);
            });
        }
    }

    /// <summary>The exact path's medians of columns [c0, c1) into <paramref name="output"/>, gathered
    /// <see cref="ExactBlock"/> columns at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ExactMedians(DomainBatch batch, int[] rows, bool missingAsZero, int c0, int c1, Span<double> output)
    {
        var scratch = ColumnScratch.ForThread(rows.Length, ExactBlock);
        for (var b = c0; b < c1; b += ExactBlock)
        {
            var width = Math.Min(ExactBlock, c1 - b);
            ColumnGather.Block(batch, rows, missingAsZero, b, width, scratch);
            for (var c = 0; c < width; c++)
                output[b + c] = ExactColumnRules.Median(scratch.Values.AsSpan(c * rows.Length, scratch.Counts[c]), scratch.Keys);
        }
    }

    public void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (medians.Length < batch.Columns) throw new ArgumentException("medians must be D long", nameof(medians));
        if (distances.Length < rows.Length) throw new ArgumentException("distances must hold one entry per row", nameof(distances));
        var rowArray = rows.ToArray();
        var n = rowArray.Length;
        var chunk = ChunkWidth(batch.Columns);
        var chunks = (batch.Columns + chunk - 1) / chunk;
        var sums = new double[chunks * n];
        var counts = new long[chunks * n];
        fixed (double* m = medians)
        {
            var mp = (nint)m;
            Parallel.For(0, chunks, parallel, ci =>
            {
                var c0 = ci * chunk;
                var c1 = Math.Min(batch.Columns, c0 + chunk);
                var med = new ReadOnlySpan<double>((void*)mp, batch.Columns);
                RowKernels.SquaredDistances(batch, rowArray, missingAsZero, med, c0, c1,
                    sums.AsSpan(ci * n, n), counts.AsSpan(ci * n, n));
            });
        }
        AddChunks(sums, counts, chunks, n, distances);
    }

    /// <summary>
    /// Without a mask and with the fast kernels: each block's medians, then the rows' squared distances to them
    /// while the block is still in L2, so the outlier pass reads the batch once instead of twice. Otherwise
    /// <see cref="ColumnMedians"/> then <see cref="RowDistances"/>.
    /// </summary>
    public void MediansAndDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians, Span<double> distances)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (!medians.IsEmpty && medians.Length < batch.Columns) throw new ArgumentException("medians must be D long, or empty", nameof(medians));
        if (distances.Length < rows.Length) throw new ArgumentException("distances must hold one entry per row", nameof(distances));
        if (medians.IsEmpty)
        {
            // The caller wants the distances alone; the pass still needs the medians, block by block.
            var scratch = ArrayPool<double>.Shared.Rent(batch.Columns);
            try
            {
                MediansAndDistances(batch, rows, missingAsZero, scratch.AsSpan(0, batch.Columns), distances);
            }
            finally
            {
                ArrayPool<double>.Shared.Return(scratch);
            }
            return;
        }
        var rowArray = rows.ToArray();
        var n = rowArray.Length;
        if (!UseFastKernels || batch.Mask is not null || n is 0 or > MedianKernel.MaxRows)
        {
            ColumnMedians(batch, rows, missingAsZero, medians);
            RowDistances(batch, rows, missingAsZero, medians, distances);
            return;
        }
        var chunk = ChunkWidth(batch.Columns);
        var chunks = (batch.Columns + chunk - 1) / chunk;
        var sums = new double[chunks * n];
        var counts = new long[chunks * n];
        fixed (double* m = medians)
        {
            var mp = (nint)m;
            Parallel.For(0, chunks, parallel, ci =>
            {
                var c0 = ci * chunk;
                var c1 = Math.Min(batch.Columns, c0 + chunk);
                var output = new Span<double>((void*)mp, batch.Columns);
                var partial = sums.AsSpan(ci * n, n);
                var start = MedianKernel.RunWithDistances(batch, rowArray, c0, c1, output, partial);
                // The columns past the last whole vector: exact medians, then their distances.
                ExactMedians(batch, rowArray, false, start, c1, output);
                RowKernels.AddDenseSquaredDistances(batch, rowArray, output, start, c1, partial);
                counts.AsSpan(ci * n, n).Fill(c1 - c0);
            });
        }
        AddChunks(sums, counts, chunks, n, distances);
    }

    /// <summary>r = sqrt(sum / count) per row from the chunks' partials, added in chunk order so that the result
    /// does not depend on thread timing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddChunks(double[] sums, long[] counts, int chunks, int n, Span<double> distances)
    {
        for (var k = 0; k < n; k++)
        {
            double s = 0;
            long count = 0;
            for (var ci = 0; ci < chunks; ci++)
            {
                s += sums[ci * n + k];
                count += counts[ci * n + k];
            }
            distances[k] = count == 0 ? double.NaN : Math.Sqrt(s / count);
        }
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
        ReptileStep? step)
    {
        CheckCombine(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
        if (aggregate.IsEmpty && step is null) return CountEmptyColumns(batch, rows);
        return RunCombine(new CombineJob(batch, rows.ToArray(), weights.ToArray(), method, trimAlpha, missingAsZero, UseFastKernels,
            selectionLanes: SelectionLanes, selectionBlockScale: SelectionBlockScale),
            batch.Columns, aggregate, prior, step, null);
    }

    /// <summary>Every method on a batch without a mask: each kernel notices a non-finite cell it reads
    /// (see <see cref="CombineJob"/>).</summary>
    public bool CanCombineUnscanned(DomainBatch batch, AggregationMethod method)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
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
        ReptileStep? step)
    {
        CheckCombine(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
        CombineInput.CheckUnscanned(batch, Name);
        // With nothing to write no cell is read, so nothing could be noticed: the caller must scan.
        if (aggregate.IsEmpty && step is null) return null;
        // No rows, no cells to doubt: every column is empty, which the signal would take for a non-finite value.
        if (rows.IsEmpty) return Combine(batch, rows, weights, method, trimAlpha, false, aggregate, prior, step);
        var signal = new NonFiniteSignal();
        var job = new CombineJob(batch, rows.ToArray(), weights.ToArray(), method, trimAlpha, false, UseFastKernels, signal,
            SelectionLanes, SelectionBlockScale);
        var empty = RunCombine(job, batch.Columns, aggregate, prior, step, signal);
        return signal.Raised ? null : empty;
    }

    private void CheckCombine(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method, double trimAlpha,
        Span<float> aggregate, Span<float> prior, ReptileStep? step)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (weights.Length != rows.Length) throw new ArgumentException("weights must hold one entry per row", nameof(weights));
        CombineInput.CheckWeightsAndTrim(weights, trimAlpha);
        CombineInput.CheckMethod(method);
        if (!aggregate.IsEmpty && aggregate.Length != batch.Columns) throw new ArgumentException("aggregate must be empty or D long", nameof(aggregate));
        if (step is not null && prior.Length != batch.Columns) throw new ArgumentException("prior must be D long when a step is given", nameof(prior));
        CombineInput.CheckStep(step);
    }

    private int RunCombine(CombineJob job, int columns, Span<float> aggregate, Span<float> prior, ReptileStep? step, NonFiniteSignal? signal)
    {
        var chunk = ChunkWidth(columns);
        var chunks = (columns + chunk - 1) / chunk;
        var empty = 0;
        fixed (float* a = aggregate)
        fixed (float* p = prior)
        {
            var ap = (nint)a;
            var pp = (nint)p;
            var hasAggregate = !aggregate.IsEmpty;
            var hasPrior = step is not null;
            Parallel.For(0, chunks, parallel, ci =>
            {
                var c0 = ci * chunk;
                var c1 = Math.Min(columns, c0 + chunk);
                var target = new ColumnTarget(
                    hasAggregate ? new Span<float>((void*)ap, columns) : default,
                    hasPrior ? new Span<float>((void*)pp, columns) : default,
                    step, signal);
                var e = job.Run(c0, c1, target);
                if (e != 0) Interlocked.Add(ref empty, e);
            });
        }
        return empty;
    }

    /// <summary>Nothing to release (the per-thread scratch buffers belong to the threads): marks the backend
    /// disposed, so that later calls throw. Calling it again does nothing.</summary>
    public void Dispose() => disposed = true;

    /// <summary>Columns per parallel work item: about four items per worker, whole 64-column lines.</summary>
    internal int ChunkWidth(int columns)
    {
        var target = Workers * 4;
        var width = (columns + target - 1) / target;
        width = (width + 63) / 64 * 64;
        return Math.Max(width, 256);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int CountEmptyColumns(DomainBatch batch, ReadOnlySpan<int> rows)
    {
        if (rows.IsEmpty) return batch.Columns;
        if (batch.Mask is null) return 0;
        var empty = 0;
        for (var c = 0; c < batch.Columns; c++)
        {
            var any = false;
            foreach (var r in rows)
            {
                if (batch.Mask[r * batch.Stride + c] != 0) { any = true; break; }
            }
            if (!any) empty++;
        }
        return empty;
    }
}
