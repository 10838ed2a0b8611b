using System.Buffers;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute;

/// <summary>
/// The O(N x D) primitives of dense cross-domain aggregation and the Reptile step (DESIGN §4, §8, §13). The host
/// side (eligibility decisions, weights, diversity balancing, outlier decisions) is shared by every backend; a
/// backend only moves over the matrix. Every discrete outcome must equal the float64 reference's; values may be
/// computed in float32 within §13's tolerance (1e-4 abs + 1e-4 rel).
/// </summary>
/// <remarks>
/// "Rows" arguments list the participating row indices in ascending order. With <c>missingAsZero</c>, an absent
/// cell of a participating row is a present 0 (DESIGN §4 step 2, <c>missing_keys=zero</c>) — but only in a
/// column that at least one of the participating rows sent (mask-present): that is the keyed reference's key
/// union. A column none of them sent stays empty (NaN median, no part in distances, NaN aggregate, prior
/// unchanged), exactly as a key no domain sent does not exist for the reference.
/// In the Reptile step a NaN prior value is a column the prior does not have yet: <c>interpolate</c> adopts the
/// aggregate value, <c>delta</c> starts from 0 (DESIGN §8 (b)/(d) for a key the prior lacks); see
/// <see cref="DenseReptile.StepValue"/>, whose rules for NaN every backend must follow; its values a backend matches
/// within §13's tolerance (the cpu weighted mean's fused step uses fused multiply-adds in float64, which can move a
/// float32 result by one unit in the last place).
/// Device backends are obtained through <see cref="ComputeBackends"/>, which wraps cuda and opencl in a
/// <see cref="FallbackBackend"/>.
/// After <see cref="IDisposable.Dispose"/> every method throws <see cref="ObjectDisposedException"/> (the properties
/// still answer); Dispose may be called again and does nothing.
/// </remarks>
public interface IComputeBackend : IDisposable
{
    /// <summary>"cpu", "cuda", "opencl" or "ilgpu-cpu".</summary>
    string Name { get; }

    /// <summary>Step 1: per row, the present-cell count and whether a present cell is non-finite.</summary>
    void ScanRows(DomainBatch batch, Span<RowScan> result);

    /// <summary>
    /// Step 1 for <paramref name="rows"/> only (ascending, results in the same order): a read-once round scans
    /// just the rows it will not combine (those below the minimum confidence), whose category (non-finite before
    /// low confidence) depends on their cells. By default the whole batch is scanned and those rows picked.
    /// </summary>
    void ScanRows(DomainBatch batch, ReadOnlySpan<int> rows, Span<RowScan> result)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (result.Length < rows.Length) throw new ArgumentException("result must hold one entry per listed row", nameof(result));
        var all = new RowScan[batch.Rows];
        ScanRows(batch, all);
        for (var i = 0; i < rows.Length; i++) result[i] = all[rows[i]];
    }

    /// <summary>Step 3: column medians (even count: mean of the two middle values) over the present cells of
    /// <paramref name="rows"/>, in float64; NaN where a column has none.</summary>
    void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians);

    /// <summary>Step 3: r_i = sqrt(mean over row i's present cells of (x - m_d)^2), in float64, for each of
    /// <paramref name="rows"/> (written in the same order).</summary>
    void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances);

    /// <summary>
    /// Step 3's two passes, <see cref="ColumnMedians"/> then <see cref="RowDistances"/>, with the same results (the
    /// distances up to the order of their float64 additions). A backend may do both in one read of the batch.
    /// <paramref name="medians"/> is D long, or empty when the caller wants the distances alone (the aggregator's
    /// outlier decision): then a backend need not hand the medians back (a device keeps them where it made them).
    /// </summary>
    void MediansAndDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians, Span<double> distances)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!medians.IsEmpty)
        {
            ColumnMedians(batch, rows, missingAsZero, medians);
            RowDistances(batch, rows, missingAsZero, medians, distances);
            return;
        }
        var scratch = ArrayPool<double>.Shared.Rent(batch.Columns);
        try
        {
            var own = scratch.AsSpan(0, batch.Columns);
            ColumnMedians(batch, rows, missingAsZero, own);
            RowDistances(batch, rows, missingAsZero, own, distances);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Step 6 and, optionally, the Reptile step in the same pass. <paramref name="weights"/>[k] is p of
    /// <paramref name="rows"/>[k] (renormalised per column over present cells inside). Writes the aggregate to
    /// <paramref name="aggregate"/> unless it is empty (the fused path then never materialises it), and steps
    /// <paramref name="prior"/> when <paramref name="step"/> is given. A column with no present cell is NaN in the
    /// aggregate and leaves the prior unchanged. Returns the number of such columns. Every backend rejects a weight
    /// that is negative or not finite, and a trim_alpha outside [0, 0.5), before it writes anything (the host's p
    /// is a normalised confidence: such input is a caller's bug, not data to aggregate).
    /// </summary>
    int Combine(
        DomainBatch batch,
        ReadOnlySpan<int> rows,
        ReadOnlySpan<double> weights,
        AggregationMethod method,
        double trimAlpha,
        bool missingAsZero,
        Span<float> aggregate,
        Span<float> prior,
        ReptileStep? step);

    /// <summary>
    /// <see cref="Combine(DomainBatch, ReadOnlySpan{int}, ReadOnlySpan{double}, AggregationMethod, double, bool, Span{float}, Span{float}, ReptileStep?)"/>
    /// with the step taken on a <see cref="ResidentPrior"/>: the same writes and result (the stepped prior in its
    /// <see cref="ResidentPrior.Values"/>), and a device backend may step the copy it kept from an earlier call
    /// instead of uploading the prior again. By default the prior's values are passed on as a span, and the prior
    /// is marked changed afterwards: a device backend holding an earlier copy of it must not step that copy next.
    /// </summary>
    int Combine(
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
        try
        {
            return Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior.Values, step);
        }
        finally
        {
            prior.MarkChanged();
        }
    }

    /// <summary>
    /// Whether a combine with a step leaves the host prior as it was unless it succeeds: a call that throws, and an
    /// unscanned combine that returns null, have not written it (the prior changes at the end, in one piece). A
    /// caller then keeps no copy of the prior to undo a step. False unless a backend says otherwise (the cpu
    /// backend steps the prior in place as its pass goes).
    /// </summary>
    bool StepsPriorAtomically => false;

    /// <summary>Whether <see cref="CombineUnscanned(DomainBatch, ReadOnlySpan{int}, ReadOnlySpan{double}, AggregationMethod, double, Span{float}, Span{float}, ReptileStep?)"/> serves <paramref name="method"/> on <paramref name="batch"/>.
    /// False unless a backend says otherwise.</summary>
    bool CanCombineUnscanned(DomainBatch batch, AggregationMethod method) => false;

    /// <summary>
    /// <see cref="Combine(DomainBatch, ReadOnlySpan{int}, ReadOnlySpan{double}, AggregationMethod, double, bool, Span{float}, Span{float}, ReptileStep?)"/> over rows of a batch without a mask whose cells were not scanned (step 1 guessed them
    /// all finite, so the round reads the batch once). When every cell of <paramref name="rows"/> is finite, the
    /// same writes and result as Combine; when the call reads a non-finite cell (or, having nothing to write, can
    /// tell nothing), it returns null, and the aggregate and the prior may hold part of a result (the prior not,
    /// where <see cref="StepsPriorAtomically"/>): the caller restores the prior and redoes the round from <see cref="ScanRows(DomainBatch, Span{RowScan})"/>. Only where
    /// <see cref="CanCombineUnscanned"/> is true.
    /// </summary>
    int? CombineUnscanned(
        DomainBatch batch,
        ReadOnlySpan<int> rows,
        ReadOnlySpan<double> weights,
        AggregationMethod method,
        double trimAlpha,
        Span<float> aggregate,
        Span<float> prior,
        ReptileStep? step) =>
        throw new NotSupportedException($"the {Name} backend does not combine unscanned rows");

    /// <summary><see cref="CombineUnscanned(DomainBatch, ReadOnlySpan{int}, ReadOnlySpan{double}, AggregationMethod, double, Span{float}, Span{float}, ReptileStep?)"/>
    /// with the step taken on a <see cref="ResidentPrior"/> (see the resident <c>Combine</c>). When it returns null
    /// the caller restores the prior's values and calls <see cref="ResidentPrior.MarkChanged"/> (unless
    /// <see cref="StepsPriorAtomically"/>: then they are as they were).</summary>
    int? CombineUnscanned(
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
        try
        {
            return CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior.Values, step);
        }
        finally
        {
            // As in the resident Combine: another backend's device copy of this prior is stale now.
            prior.MarkChanged();
        }
    }
}
