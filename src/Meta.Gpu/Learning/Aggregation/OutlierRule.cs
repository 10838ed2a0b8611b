namespace Meta.Gpu.Learning.Aggregation;

/// <summary>
/// The decision half of the outlier filter (DESIGN §4 step 3), over the per-domain distances r_i to the column
/// medians: flag i when r_i &gt; median(r) + z * max(1.4826 * MAD(r), 1e-12), and never drop more than
/// floor((n-1)/2) domains (when more are flagged, the largest r go; ties: lower row first).
/// The distances themselves are the backend's job (O(N x D)); this part is O(N log N) on the host.
/// </summary>
public static class OutlierRule
{
    public const double MadScale = 1.4826;
    public const double MinScale = 1e-12;

    /// <summary>Sets <paramref name="dropped"/>[i] for each row to drop; returns how many.</summary>
    public static int Flag(ReadOnlySpan<double> distances, double z, Span<bool> dropped)
    {
        var n = distances.Length;
        dropped[..n].Clear();
        if (n == 0) return 0;

        var threshold = Threshold(distances, z);
        var flagged = new List<int>();
        for (var i = 0; i < n; i++)
            if (distances[i] > threshold) flagged.Add(i);

        var cap = (n - 1) / 2;
        if (flagged.Count > cap)
        {
            // Keep the cap largest distances; ties go to the lower row first.
            var d = distances.ToArray();
            flagged.Sort((a, b) => d[b].CompareTo(d[a]) is var c && c != 0 ? c : a.CompareTo(b));
            flagged.RemoveRange(cap, flagged.Count - cap);
        }
        foreach (var i in flagged) dropped[i] = true;
        return flagged.Count;
    }

    /// <summary>
    /// Whether <see cref="Flag"/> decides the same for every set of distances within
    /// <paramref name="relativeError"/> * r_i of <paramref name="distances"/>: no r_i lies that close to the
    /// threshold (which itself moves with the median and the MAD), and where the cap binds, the last distance kept
    /// and the first one cut are not that close either. False means the flags hang on rounding: a backend whose
    /// sums run in another order than the reference's must then take the reference's distances.
    /// </summary>
    public static bool IsSettled(ReadOnlySpan<double> distances, double z, double relativeError)
    {
        var n = distances.Length;
        if (n == 0) return true;
        var threshold = Threshold(distances, z);
        var largest = 0.0;
        foreach (var r in distances) largest = Math.Max(largest, Math.Abs(r));
        // Each distance moves by at most e_i = relativeError * |r_i| <= e; the median then by e and the MAD by 2e.
        var e = relativeError * largest;
        var thresholdError = e * (1 + 2 * z * MadScale);

        var flagged = new List<int>();
        for (var i = 0; i < n; i++)
        {
            if (Math.Abs(distances[i] - threshold) <= relativeError * Math.Abs(distances[i]) + thresholdError) return false;
            if (distances[i] > threshold) flagged.Add(i);
        }
        var cap = (n - 1) / 2;
        if (flagged.Count <= cap || cap == 0) return true;
        var d = distances.ToArray();
        flagged.Sort((a, b) => d[b].CompareTo(d[a]));
        var kept = d[flagged[cap - 1]];
        var cut = d[flagged[cap]];
        return kept - cut > relativeError * (Math.Abs(kept) + Math.Abs(cut));
    }

    /// <summary>median(r) + z * max(1.4826 * MAD(r), 1e-12).</summary>
    private static double Threshold(ReadOnlySpan<double> distances, double z)
    {
        var center = RobustStatistics.Median(distances);
        var deviations = new double[distances.Length];
        for (var i = 0; i < distances.Length; i++) deviations[i] = Math.Abs(distances[i] - center);
        var scale = Math.Max(MadScale * RobustStatistics.MedianInPlace(deviations), MinScale);
        return center + z * scale;
    }
}
