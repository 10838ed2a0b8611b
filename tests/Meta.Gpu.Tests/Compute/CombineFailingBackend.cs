using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// A "device" for machines without one: the cpu backend under the name given, whose combine throws as a lost device
/// does ("device lost") while <see cref="Fail"/> is set. Computing on the cpu backend otherwise, a test elsewhere
/// that meets it (registered as a device mid-swap) still gets right answers.
/// </summary>
public sealed class CombineFailingBackend(string name = CpuBackend.BackendName, bool fail = false) : IComputeBackend
{
    private readonly CpuBackend _inner = new();

    public bool Fail { get; set; } = fail;

    public string Name => name;

    public void ScanRows(DomainBatch batch, Span<RowScan> result) => _inner.ScanRows(batch, result);

    public void ColumnMedians(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, Span<double> medians) =>
        _inner.ColumnMedians(batch, rows, missingAsZero, medians);

    public void RowDistances(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances) =>
        _inner.RowDistances(batch, rows, missingAsZero, medians, distances);

    public int Combine(DomainBatch batch, ReadOnlySpan<int> rows, ReadOnlySpan<double> weights, AggregationMethod method, double trimAlpha,
        bool missingAsZero, Span<float> aggregate, Span<float> prior, ReptileStep? step) =>
        Fail
            ? throw new InvalidOperationException("device lost")
            : _inner.Combine(batch, rows, weights, method, trimAlpha, missingAsZero, aggregate, prior, step);

    public void Dispose() => _inner.Dispose();
}
