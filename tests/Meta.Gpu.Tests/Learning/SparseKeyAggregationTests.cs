using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// With absent cells ignored (the default), the aggregator gathers each column from the cells sent instead of
/// scanning every row for every key of the union (rows x union: quadratic in the domains when each sends keys of
/// its own). These tests hold the gathered result to the scan, bit for bit, on partly overlapping key sets.
/// </summary>
public sealed class SparseKeyAggregationTests
{
    /// <summary>§4 steps 3-6 for eligible rows, written as the plain scan over rows x keys.</summary>
    private static (float[] Vector, List<string> Keys, List<string> Outliers) Scan(List<DomainUpdateInput> rows, CrossMetaConfig config)
    {
        var cells = rows.Select(r => r.Keys.Select((k, i) => (k, (double)r.Vector[i])).ToDictionary(c => c.k, c => c.Item2, StringComparer.Ordinal)).ToList();
        List<string> Union(IEnumerable<int> which) => [.. which.SelectMany(i => cells[i].Keys).Distinct().Order(StringComparer.Ordinal)];

        var all = Enumerable.Range(0, rows.Count).ToList();
        var dropped = new bool[rows.Count];
        if (config.OutlierFilter && rows.Count >= config.OutlierMinDomains)
        {
            var union = Union(all);
            var medians = union.Select(k => RobustStatistics.MedianInPlace(cells.Where(c => c.ContainsKey(k)).Select(c => c[k]).ToArray())).ToArray();
            var distances = cells.Select(c =>
            {
                double sum = 0.0;
                var n = 0;
                for (var d = 0; d < union.Count; d++)
                {
                    if (!c.TryGetValue(union[d], out var x)) continue;
                    sum += (x - medians[d]) * (x - medians[d]);
                    n++;
                }
                return Math.Sqrt(sum / n);
            }).ToArray();
            OutlierRule.Flag(distances, config.OutlierZ, dropped);
        }
        var kept = all.Where(i => !dropped[i]).ToList();
        var p = new double[kept.Count];
        DiversityBalancing.Balance(kept.Select(i => rows[i].Confidence).ToArray(), config.DiversityEntropyTarget, p);
        var keys = Union(kept);
        var vector = keys.Select(k => (float)ColumnRules.Combine(
            config.Method,
            kept.Select((i, r) => (i, r)).Where(t => cells[t.i].ContainsKey(k)).Select(t => new ColumnCell(cells[t.i][k], p[t.r], t.r)).ToArray(),
            config.TrimAlpha)).ToArray();
        return (vector, keys, [.. all.Where(i => dropped[i]).Select(i => rows[i].DomainId)]);
    }

    private static List<DomainUpdateInput> PartlyOverlapping(Random random, int n)
    {
        var rows = new List<DomainUpdateInput>();
        for (var i = 0; i < n; i++)
        {
            var keys = new List<string> { "shared.a", "shared.b" };
            keys.AddRange(Enumerable.Range(0, 12).Where(_ => random.Next(2) == 0).Select(k => $"pool.{k:D2}"));
            keys.AddRange(Enumerable.Range(0, random.Next(4)).Select(k => $"own.{i}.{k}"));
            keys = [.. keys.OrderBy(_ => random.Next())];
            var scale = random.Next(6) == 0 ? 80.0 : 1.0; // a few attackers far off
            // Half the values on a coarse grid, so that columns have ties across trim boundaries and at the
            // medians; the others anywhere, so that sums round and their order shows.
            var vector = keys.Select(_ => (float)((random.Next(2) == 0 ? Math.Round(random.NextDouble() * 8) / 4 : random.NextDouble() * 2) * scale)).ToArray();
            rows.Add(new DomainUpdateInput($"domain-{i:D3}", keys, vector, 0.2 + random.Next(5) * 0.2));
        }
        return rows;
    }

    public static TheoryData<AggregationMethod, bool, int> Cases()
    {
        var data = new TheoryData<AggregationMethod, bool, int>();
        foreach (var method in Enum.GetValues<AggregationMethod>())
            foreach (var diversity in new[] { true, false })
                foreach (var n in new[] { 1, 4, 9, 40 })
                    data.Add(method, diversity, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gathering_columns_from_the_cells_sent_gives_the_scan_bit_for_bit(AggregationMethod method, bool diversity, int n)
    {
        var config = CrossMetaConfig.Default with
        {
            Method = method,
            OutlierMinDomains = 3,
            DiversityEntropyTarget = diversity ? 0.9 : null,
        };
        var random = new Random(HashCode.Combine((int)method, diversity, n, 11));
        for (var round = 0; round < 20; round++)
        {
            var rows = PartlyOverlapping(random, n);
            var expected = Scan(rows, config);
            var actual = CrossDomainMetaAggregator.Aggregate(rows, config);
            Assert.Equal(expected.Keys, actual.Keys);
            Assert.Equal(expected.Outliers, actual.Meta.Outliers);
            for (var d = 0; d < expected.Vector.Length; d++)
                Assert.True(BitConverter.SingleToInt32Bits(expected.Vector[d]) == BitConverter.SingleToInt32Bits(actual.Vector[d]),
                    $"round {round}, key {expected.Keys[d]}: scan {expected.Vector[d]:R}, gathered {actual.Vector[d]:R}");
        }
    }

    [Fact]
    public void Outlier_distances_over_keys_in_any_order_are_the_scans()
    {
        // The public step-3 helper takes any key list: each row still sums its terms in that list's order.
        var random = new Random(5);
        var rows = PartlyOverlapping(random, 12);
        var cells = rows.Select(r => (IReadOnlyDictionary<string, double>)r.Keys.Select((k, i) => (k, (double)r.Vector[i])).ToDictionary(c => c.k, c => c.Item2, StringComparer.Ordinal)).ToList();
        var keys = cells.SelectMany(c => c.Keys).Distinct().OrderBy(_ => random.Next()).ToList();
        var sparse = CrossDomainMetaAggregator.OutlierDistances(cells, keys, missingAsZero: false);
        // A repeated key makes the helper scan; the repeat adds nothing when both copies are dropped again.
        var scanned = CrossDomainMetaAggregator.OutlierDistances(cells, [.. keys, keys[0]], missingAsZero: false);
        Assert.Equal(sparse.Length, scanned.Length);
        Assert.NotEqual(sparse, scanned); // the repeat counts keys[0] twice in the scan
        var expected = cells.Select(c =>
        {
            var medians = keys.Select(k => RobustStatistics.MedianInPlace(cells.Where(r => r.ContainsKey(k)).Select(r => r[k]).ToArray())).ToArray();
            double sum = 0.0;
            var count = 0;
            for (var d = 0; d < keys.Count; d++)
            {
                if (!c.TryGetValue(keys[d], out var x)) continue;
                sum += (x - medians[d]) * (x - medians[d]);
                count++;
            }
            return Math.Sqrt(sum / count);
        }).ToArray();
        Assert.Equal(expected, sparse);
    }

    [Fact]
    public void Outlier_distances_over_rows_that_match_keys_another_way_are_the_scans()
    {
        // A caller's row map may compare keys its own way (ignoring case): the scan asks the row, so those rows must
        // not be read through an ordinal map of the keys (found by a review: distances 0 instead of 0.79).
        var rows = new[] { ("A", 1.0), ("a", 3.0), ("A", 0.5) }
            .Select(c => (IReadOnlyDictionary<string, double>)new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase) { [c.Item1] = c.Item2 })
            .ToList();
        string[] keys = ["a"];
        var distances = CrossDomainMetaAggregator.OutlierDistances(rows, keys, missingAsZero: false);
        // Every row has "a" for this comparer; the median of {1, 3, 0.5} is 1.
        Assert.Equal([0.0, 2.0, 0.5], distances);
    }
}
