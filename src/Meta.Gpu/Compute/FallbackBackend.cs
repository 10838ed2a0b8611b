using Meta.Gpu.Learning.Aggregation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Compute;

/// <summary>
/// A device backend with a fallback (DESIGN §13): every primitive runs on the primary; when the device fails (out
/// of memory, a launch or driver error) the failure is logged and the call is redone on the fallback (normally
/// <c>cpu</c>), which gives the same results within the tolerance and the same decisions.
/// </summary>
/// <remarks>
/// After a failure the rest of the round stays on the fallback; a round begins with <see cref="ScanRows(DomainBatch, Span{RowScan})"/> (step 1
/// of every aggregation), which tries the primary again, so a device that recovers (memory freed) is used again
/// next round. A read-once round skips that scan, so after a failure <see cref="CanCombineUnscanned"/> is false
/// until a scanning round has tried the primary again. Argument errors (<see cref="ArgumentException"/>, <see cref="InvalidInputException"/>) and
/// cancellation are the caller's and pass through untouched. A fused step that failed part-way is undone: where the
/// primary may leave part of a step in the prior (<see cref="IComputeBackend.StepsPriorAtomically"/> false), the
/// prior is copied before the primary runs and restored before the fallback runs; an atomic primary (the ILGPU
/// backends) has left it as it was, and nothing is copied. When the fallback steps a <see cref="ResidentPrior"/>, it
/// is marked changed: the host values moved past any copy the device kept. One round at a time: calls on one
/// instance must not overlap.
/// </remarks>
public sealed class FallbackBackend : IComputeBackend
{
    private readonly ILogger logger;
    private float[] priorCopy = [];
    private bool disposed;

    public FallbackBackend(IComputeBackend primary, IComputeBackend fallback, ILogger? logger = null)
    {
        Primary = primary ?? throw new ArgumentNullException(nameof(primary));
        Fallback = fallback ?? throw new ArgumentNullException(nameof(fallback));
        this.logger = logger ?? NullLogger.Instance;
    }

    public IComputeBackend Primary { get; }

    public IComputeBackend Fallback { get; }

    /// <summary>The primary's name: the backend the user chose.</summary>
    public string Name => Primary.Name;

    /// <summary>The primary's: a fallback that steps in place is guarded by a copy where it could break that.</summary>
    public bool StepsPriorAtomically => Primary.StepsPriorAtomically;

    /// <summary>The backend the next call of this round runs on.</summary>
    public string ActiveName => OnFallback ? Fallback.Name : Primary.Name;

    /// <summary>True from a device failure to the start of the next round.</summary>
    public bool OnFallback { get; private set; }

    /// <summary>Device failures so far.</summary>
    public int Failures { get; private set; }

    /// <summary>The last device failure, or null.</summary>
    public Exception? LastFailure { get; private set; }

    public void ScanRows(DomainBatch batch, Span<RowScan> result)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        OnFallback = false;
        if (TryPrimary(batch, result)) return;
        Fallback.ScanRows(batch, result);
    }

    public void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!OnFallback)
        {
            try
            {
                Primary.ColumnMedians(batch, rows, missingAsZero, medians);
                return;
            }
            catch (Exception ex) when (IsDeviceFailure(ex))
            {
                Fail(nameof(ColumnMedians), ex);
            }
        }
        Fallback.ColumnMedians(batch, rows, missingAsZero, medians);
    }

    public void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!OnFallback)
        {
            try
            {
                Primary.RowDistances(batch, rows, missingAsZero, medians, distances);
                return;
            }
            catch (Exception ex) when (IsDeviceFailure(ex))
            {
                Fail(nameof(RowDistances), ex);
            }
        }
        Fallback.RowDistances(batch, rows, missingAsZero, medians, distances);
    }

    /// <summary>The primary's own one-call outlier pass (a device keeps the medians where it computed them), else
    /// the fallback's.</summary>
    public void MediansAndDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians, Span<double> distances)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!OnFallback)
        {
            try
            {
                Primary.MediansAndDistances(batch, rows, missingAsZero, medians, distances);
                return;
            }
            catch (Exception ex) when (IsDeviceFailure(ex))
            {
                Fail(nameof(MediansAndDistances), ex);
            }
        }
        Fallback.MediansAndDistances(batch, rows, missingAsZero, medians, distances);
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
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!OnFallback)
        {
            var saved = SaveForPrimary(prior, step);
            try
            {
                return Primary.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);
            }
            catch (Exception ex) when (IsDeviceFailure(ex))
            {
                Fail(nameof(Combine), ex);
                if (saved) RestorePrior(prior);
            }
        }
        // The cpu fallback checks its arguments before it writes: it steps the whole prior or throws untouched.
        return Fallback.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);
    }

    /// <summary>The resident-prior combine on the primary, which may keep the prior on its device; after a device
    /// failure the prior's values are restored where the primary may have left part of a step, the fallback steps
    /// them, and the prior is marked changed.</summary>
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
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(prior);
        IComputeBackend fallback = Fallback;
        if (!OnFallback)
        {
            var saved = SaveForPrimary(prior.Values, step);
            try
            {
                return Primary.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);
            }
            catch (Exception ex) when (IsDeviceFailure(ex))
            {
                Fail(nameof(Combine), ex);
                if (saved) RestorePrior(prior.Values);
            }
        }
        try
        {
            return fallback.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);
        }
        finally
        {
            prior.MarkChanged();
        }
    }

    /// <summary>The primary's answer while it is in use. After a device failure it is false, so the next round
    /// scans its rows: that scan (the start of a round) is where the primary is tried again.</summary>
    public bool CanCombineUnscanned(DomainBatch batch, AggregationMethod method)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return !OnFallback && Primary.CanCombineUnscanned(batch, method);
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
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!OnFallback)
        {
            var saved = SaveForPrimary(prior, step);
            try
            {
                return Primary.CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
            }
            catch (Exception ex) when (IsDeviceFailure(ex))
            {
                Fail(nameof(CombineUnscanned), ex);
                if (saved) RestorePrior(prior);
            }
        }
        // Reached after a failure in this round: the fallback is the cpu backend, which serves every method
        // without a mask; one that cannot says so and the round is redone from a scan.
        if (!Fallback.CanCombineUnscanned(batch, method)) return null;
        var guarded = SaveForFallback(prior, step);
        var result = Fallback.CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
        if (result is null && guarded) RestorePrior(prior);
        return result;
    }

    /// <summary>The resident-prior unscanned combine; a device failure is handled as in the resident
    /// <c>Combine</c>.</summary>
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
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(prior);
        IComputeBackend fallback = Fallback;
        if (!OnFallback)
        {
            var saved = SaveForPrimary(prior.Values, step);
            try
            {
                return Primary.CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
            }
            catch (Exception ex) when (IsDeviceFailure(ex))
            {
                Fail(nameof(CombineUnscanned), ex);
                if (saved) RestorePrior(prior.Values);
            }
        }
        if (!fallback.CanCombineUnscanned(batch, method)) return null;
        var guarded = SaveForFallback(prior.Values, step);
        try
        {
            var result = fallback.CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
            if (result is null && guarded) RestorePrior(prior.Values);
            return result;
        }
        finally
        {
            prior.MarkChanged();
        }
    }

    /// <summary>Disposes the primary and the fallback, the fallback even when the primary throws (whose exception
    /// surfaces). Afterwards every method throws <see cref="ObjectDisposedException"/>, whichever backend the round
    /// was on; calling it again does nothing.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        try
        {
            Primary.Dispose();
        }
        catch
        {
            try
            {
                Fallback.Dispose();
            }
            catch
            {
                // The primary's failure is the one to report; the fallback has been given its chance.
            }
            throw;
        }
        Fallback.Dispose();
    }

    /// <summary>A failure of the device rather than of the caller.</summary>
    public static bool IsDeviceFailure(Exception ex) =>
        ex is not (ArgumentException or InvalidInputException or OperationCanceledException or ObjectDisposedException);

    private bool TryPrimary(DomainBatch batch, Span<RowScan> result)
    {
        try
        {
            Primary.ScanRows(batch, result);
            return true;
        }
        catch (Exception ex) when (IsDeviceFailure(ex))
        {
            Fail(nameof(ScanRows), ex);
            return false;
        }
    }

    /// <summary>Copies the prior a fused step on the primary is about to change, so that a step the device failed
    /// part-way can be undone before the fallback runs; false when there is no step or the primary steps
    /// atomically (a failure has left the prior as it was).</summary>
    private bool SaveForPrimary(Span<float> prior, ReptileStep? step) => !Primary.StepsPriorAtomically && SavePrior(prior, step);

    /// <summary>Copies the prior before an unscanned fused step on the fallback when this backend promises an
    /// atomic step (its primary's) that the fallback, stepping in place, does not keep by itself.</summary>
    private bool SaveForFallback(Span<float> prior, ReptileStep? step) =>
        Primary.StepsPriorAtomically && !Fallback.StepsPriorAtomically && SavePrior(prior, step);

    private bool SavePrior(Span<float> prior, ReptileStep? step)
    {
        if (step is null || prior.IsEmpty) return false;
        if (priorCopy.Length != prior.Length) priorCopy = new float[prior.Length];
        prior.CopyTo(priorCopy);
        return true;
    }

    private void RestorePrior(Span<float> prior) => priorCopy.AsSpan(0, prior.Length).CopyTo(prior);

    private void Fail(string primitive, Exception ex)
    {
        OnFallback = true;
        Failures++;
        LastFailure = ex;
        logger.LogWarning(ex, "backend {Backend}: {Primitive} failed ({Reason}); finishing the round on {Fallback}",
            Primary.Name, primitive, ex.Message, Fallback.Name);
    }
}
