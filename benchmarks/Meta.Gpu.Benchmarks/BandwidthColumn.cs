using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Meta.Gpu.Benchmarks;

/// <summary>GB/s of a case (bytes moved / median time), and its share of the read bandwidth measured in the same
/// summary (present when the bandwidth reference ran in the same summary, e.g. with <c>--join</c>).</summary>
public sealed class BandwidthColumn(bool share) : IColumn
{
    public string Id => share ? "ShareOfRead" : "GBps";
    public string ColumnName => share ? "Share of read" : "GB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => share ? 1 : 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => share ? "GB/s / read bandwidth (same run)" : "Bytes of the batch (or stream) / median time";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var gbs = GigabytesPerSecond(summary, benchmarkCase);
        if (gbs is null) return "-";
        if (!share) return gbs.Value.ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        var read = summary.BenchmarksCases.FirstOrDefault(c => WorkloadBytes.Workload(c) == "read_bandwidth");
        var readGbs = read is null ? null : GigabytesPerSecond(summary, read);
        return readGbs is null ? "-" : (gbs.Value / readGbs.Value).ToString("P0", System.Globalization.CultureInfo.InvariantCulture);
    }

    public static double? GigabytesPerSecond(Summary summary, BenchmarkCase benchmarkCase)
    {
        var median = summary[benchmarkCase]?.ResultStatistics?.Median;
        var bytes = WorkloadBytes.Of(benchmarkCase);
        if (median is null || median <= 0 || bytes == 0) return null;
        return bytes / median.Value; // bytes per nanosecond = GB/s
    }
}
