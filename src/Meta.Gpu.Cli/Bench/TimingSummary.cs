namespace Meta.Gpu.Cli.Bench;

/// <summary>Median (mean of the two middle values for an even count), min and max of repeated timings.</summary>
public readonly record struct TimingSummary(double MedianMs, double MinMs, double MaxMs)
{
    public static TimingSummary Of(IReadOnlyList<double> timesMs)
    {
        if (timesMs.Count == 0) throw new ArgumentException("no timings", nameof(timesMs));
        var sorted = timesMs.Order().ToArray();
        var m = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
        return new(median, sorted[0], sorted[^1]);
    }
}
