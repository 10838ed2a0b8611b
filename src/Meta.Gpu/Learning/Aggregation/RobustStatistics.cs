namespace Meta.Gpu.Learning.Aggregation;

/// <summary>Small float64 statistics shared by the reference aggregator and the dense engine's host side.</summary>
public static class RobustStatistics
{
    /// <summary>The mean; 0 for no values. Finite values near double's largest (confidences of 1e308) can sum past
    /// it: their mean is then taken as the sum of each value's share, which stays finite.</summary>
    public static double Mean(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return 0.0;
        var sum = 0.0;
        foreach (var x in values) sum += x;
        var mean = sum / values.Length;
        if (double.IsFinite(mean)) return mean;
        var shares = 0.0;
        foreach (var x in values) shares += x / values.Length;
        return shares;
    }

    /// <summary>The median (even count: mean of the two middle values); NaN for no values.
    /// Sorts <paramref name="values"/> in place.</summary>
    public static double MedianInPlace(Span<double> values)
    {
        if (values.Length == 0) return double.NaN;
        values.Sort();
        var mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
    }

    /// <summary>The median of <paramref name="values"/> without changing them.</summary>
    public static double Median(ReadOnlySpan<double> values)
    {
        var copy = values.Length <= 256 ? stackalloc double[values.Length] : new double[values.Length];
        values.CopyTo(copy);
        return MedianInPlace(copy);
    }
}
