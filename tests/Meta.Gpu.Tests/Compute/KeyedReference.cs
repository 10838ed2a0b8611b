using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The keyed float64 result the dense engine is checked against.</summary>
public sealed record KeyedResult(
    SortedDictionary<string, double> Values, int Participants, int RejectedLowConfidence, int RejectedNonfinite,
    int RejectedEmpty, List<string> Outliers, double ConfidenceMean, double WeightEntropy, double DiversityTemperature,
    double EffectiveDomains);

/// <summary>
/// A direct float64 transcription of DESIGN §4 over keyed updates (dictionaries, full sorts), written for the
/// tests independently of the dense engine.
/// </summary>
public static class KeyedReference
{
    public static KeyedResult Aggregate(IReadOnlyList<KeyedUpdate> updates, CrossMetaConfig config)
    {
        int empty = 0, nonFinite = 0, low = 0;
        var eligible = new List<int>();
        for (var i = 0; i < updates.Count; i++)
        {
            var u = updates[i];
            if (u.Keys.Length == 0) empty++;
            else if (u.Vector.Any(v => !float.IsFinite(v))) nonFinite++;
            else if (!double.IsFinite(u.Confidence) || u.Confidence < config.MinConfidence) low++;
            else eligible.Add(i);
        }
        if (eligible.Count == 0)
            return new KeyedResult(new SortedDictionary<string, double>(StringComparer.Ordinal), 0, low, nonFinite, empty, [], 0, 1, 1, 0);

        var zero = config.MissingKeys == MissingKeys.Zero;
        var cells = updates.Select(u => u.Keys.Zip(u.Vector).ToDictionary(p => p.First, p => (double)p.Second, StringComparer.Ordinal)).ToList();
        List<string> Union(IEnumerable<int> rows) =>
            rows.SelectMany(r => updates[r].Keys).Distinct().OrderBy(k => k, StringComparer.Ordinal).ToList();

        var kept = eligible;
        var outliers = new List<string>();
        if (config.OutlierFilter && eligible.Count >= config.OutlierMinDomains)
        {
            var keys = Union(eligible);
            var medians = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var key in keys)
            {
                var column = new List<double>();
                foreach (var r in eligible)
                {
                    if (cells[r].TryGetValue(key, out var v)) column.Add(v);
                    else if (zero) column.Add(0.0);
                }
                medians[key] = RobustStatistics.MedianInPlace(column.ToArray());
            }
            var distances = new double[eligible.Count];
            for (var j = 0; j < eligible.Count; j++)
            {
                double sum = 0;
                var count = 0;
                foreach (var key in keys)
                {
                    double x;
                    if (cells[eligible[j]].TryGetValue(key, out var v)) x = v;
                    else if (zero) x = 0.0;
                    else continue;
                    sum += (x - medians[key]) * (x - medians[key]);
                    count++;
                }
                distances[j] = Math.Sqrt(sum / count);
            }
            var dropped = new bool[eligible.Count];
            OutlierRule.Flag(distances, config.OutlierZ, dropped);
            kept = [];
            for (var j = 0; j < eligible.Count; j++)
            {
                if (dropped[j]) outliers.Add(updates[eligible[j]].DomainId);
                else kept.Add(eligible[j]);
            }
        }

        var raw = kept.Select(r => config.Weighting == DomainWeighting.Confidence ? updates[r].Confidence : 1.0).ToArray();
        var p = new double[kept.Count];
        var balanced = DiversityBalancing.Balance(raw, config.DiversityEntropyTarget, p);

        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var key in Union(kept))
        {
            var column = new List<(double Value, double Weight, int Row)>();
            for (var j = 0; j < kept.Count; j++)
            {
                if (cells[kept[j]].TryGetValue(key, out var v)) column.Add((v, p[j], kept[j]));
                else if (zero) column.Add((0.0, p[j], kept[j]));
            }
            values[key] = Combine(config.Method, config.TrimAlpha, column);
        }
        return new KeyedResult(values, kept.Count, low, nonFinite, empty, outliers,
            kept.Average(r => updates[r].Confidence), balanced.WeightEntropy, balanced.DiversityTemperature, balanced.EffectiveDomains);
    }

    private static double Combine(AggregationMethod method, double alpha, List<(double Value, double Weight, int Row)> cells)
    {
        var total = cells.Sum(c => c.Weight);
        var q = cells.Select(c => (c.Value, Q: c.Weight / total, c.Row)).ToList();
        var sorted = q.OrderBy(c => c.Value).ThenBy(c => c.Row).ToList();
        var n = q.Count;
        double Mean(IEnumerable<(double Value, double Q, int Row)> s) => s.Sum(c => c.Q * c.Value) / s.Sum(c => c.Q);
        switch (method)
        {
            case AggregationMethod.Mean:
                return Mean(q);
            case AggregationMethod.TrimmedMean:
            {
                var k = (int)Math.Floor(alpha * n);
                return k == 0 || n == 1 ? Mean(q) : Mean(sorted.Skip(k).Take(n - 2 * k));
            }
            case AggregationMethod.Median:
                return RobustStatistics.MedianInPlace(q.Select(c => c.Value).ToArray());
            default:
            {
                var s = sorted.Sum(c => c.Q);
                var eps = 1e-12 * s;
                var running = 0.0;
                for (var j = 0; j < n; j++)
                {
                    running += sorted[j].Q;
                    if (running >= s / 2 - eps)
                        return Math.Abs(running - s / 2) <= eps && j + 1 < n ? (sorted[j].Value + sorted[j + 1].Value) / 2 : sorted[j].Value;
                }
                return sorted[^1].Value;
            }
        }
    }
}
