using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A backend behind a counter of row scans and unscanned combines. With <c>readOnce: false</c> it hides
/// <see cref="IComputeBackend.CombineUnscanned(DomainBatch, ReadOnlySpan{int}, ReadOnlySpan{double}, AggregationMethod, double, Span{float}, Span{float}, ReptileStep?)"/>, so an aggregator over it always scans first: the twin that a
/// once-read round must match.
/// </summary>
public sealed class ScanCountingBackend(IComputeBackend inner, bool readOnce, bool disposeInner = true) : IComputeBackend
{
    public int Scans { get; private set; }

    public int UnscannedCombines { get; private set; }

    public int UnscannedMisses { get; private set; }

    public string Name => inner.Name;

    public void ScanRows(DomainBatch batch, Span<RowScan> result)
    {
        Scans++;
        inner.ScanRows(batch, result);
    }

    public int RowSubsetScans { get; private set; }

    public void ScanRows(DomainBatch batch, ReadOnlySpan<int> rows, Span<RowScan> result)
    {
        RowSubsetScans++;
        inner.ScanRows(batch, rows, result);
    }

    public void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians) =>
        inner.ColumnMedians(batch, rows, missingAsZero, medians);

    public void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances) =>
        inner.RowDistances(batch, rows, missingAsZero, medians, distances);

    public int OutlierPasses { get; private set; }

    // Forwarded, so that the read-once rounds run the inner backend's own outlier pass (the cpu one reads once).
    public void MediansAndDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians, Span<double> distances)
    {
        OutlierPasses++;
        inner.MediansAndDistances(batch, rows, missingAsZero, medians, distances);
    }

    public int Combine(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method,
        double trimAlpha, bool missingAsZero, Span<float> aggregate, Span<float> prior, ReptileStep? step) =>
        inner.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);

    public bool StepsPriorAtomically => inner.StepsPriorAtomically;

    public bool CanCombineUnscanned(DomainBatch batch, AggregationMethod method) => readOnce && inner.CanCombineUnscanned(batch, method);

    public int? CombineUnscanned(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method,
        double trimAlpha, Span<float> aggregate, Span<float> prior, ReptileStep? step)
    {
        if (!readOnce) throw new InvalidOperationException("this twin scans first");
        UnscannedCombines++;
        var result = inner.CombineUnscanned(batch, rows, weights, method, trimAlpha, aggregate, prior, step);
        if (result is null) UnscannedMisses++;
        return result;
    }

    public void Dispose()
    {
        if (disposeInner) inner.Dispose();
    }
}
