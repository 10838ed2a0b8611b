namespace Meta.Gpu.Learning.Aggregation;

/// <summary>
/// The keyed float64 reference of cross-domain aggregation (DESIGN §4). Every compute backend is checked against
/// it, so it is written to be plainly right rather than fast: float64 throughout (float32 inputs widened
/// exactly), explicit (value, row) tie-breaks, and only the output vector rounded to float32.
/// </summary>
/// <remarks>
/// Steps: malformed updates are refused before anything else (nothing is half-done); eligibility in order
/// (empty, non-finite, low confidence); the ordinal key union; the single outlier pass (when on and n &gt;=
/// <c>outlier_min_domains</c>); weights and diversity balancing over the kept domains; the column rule.
/// Decision where the design is silent: two updates with the same domain id are two rows (the aggregator does
/// not own domain identity; the agent keeps one pending update per domain).
/// </remarks>
public sealed class CrossDomainMetaAggregator
{
    public CrossDomainMetaAggregator(CrossMetaConfig? config = null)
    {
        Config = (config ?? CrossMetaConfig.Default).Validated();
    }

    public CrossMetaConfig Config { get; }

    /// <summary>Aggregates with this instance's settings. Rows are in the order given.</summary>
    /// <exception cref="InvalidInputException">An update is malformed (names the domain).</exception>
    public AggregationResult Aggregate(IEnumerable<DomainUpdateInput> updates) => Aggregate(updates, Config);

    /// <summary>Aggregates learner updates with this instance's settings (rows in the order given). A null update
    /// passes through as null, so that it is refused by its position as in the other overload.</summary>
    public AggregationResult Aggregate(IEnumerable<DomainMetaUpdate> updates) =>
        Aggregate((updates ?? throw new ArgumentNullException(nameof(updates))).Select(u => u?.ToAggregationInput()!), Config);

    /// <summary>Aggregates <paramref name="updates"/> (rows in the order given) with <paramref name="config"/>.</summary>
    /// <exception cref="InvalidInputException">An update is malformed (names the domain) or the config is out of range.</exception>
    public static AggregationResult Aggregate(IEnumerable<DomainUpdateInput> updates, CrossMetaConfig config)
    {
        ArgumentNullException.ThrowIfNull(updates);
        ArgumentNullException.ThrowIfNull(config);
        config.Validated();
        var all = updates.ToList();
        for (var i = 0; i < all.Count; i++)
        {
            if (all[i] is null) throw new InvalidInputException($"updates[{i}]: null update");
            all[i].EnsureWellFormed();
        }

        // Step 1: eligibility, each update counted once under the first rule it breaks.
        var rows = new List<DomainUpdateInput>(all.Count);
        int rejectedEmpty = 0, rejectedNonfinite = 0, rejectedLow = 0;
        foreach (var update in all)
        {
            switch (EligibilityRule.Classify(update.Keys.Count, HasNonFinite(update.Vector), update.Confidence, config.MinConfidence))
            {
                case UpdateEligibility.Empty: rejectedEmpty++; break;
                case UpdateEligibility.NonFinite: rejectedNonfinite++; break;
                case UpdateEligibility.LowConfidence: rejectedLow++; break;
                default: rows.Add(update); break;
            }
        }
        if (rows.Count == 0)
            return new AggregationResult([], [], AggregationMeta.Empty(config, rejectedLow, rejectedNonfinite, rejectedEmpty));

        var zero = config.MissingKeys == MissingKeys.Zero;
        var cells = rows.Select(CellsOf).ToList();

        // Step 3: the single outlier pass over the eligible rows and their key union.
        var outliers = new List<string>();
        var kept = Enumerable.Range(0, rows.Count).ToList();
        if (config.OutlierFilter && rows.Count >= config.OutlierMinDomains)
        {
            var distances = OutlierDistances(cells, KeyUnion(rows, kept), zero);
            var dropped = new bool[rows.Count];
            OutlierRule.Flag(distances, config.OutlierZ, dropped);
            kept = kept.Where(i => !dropped[i]).ToList();
            outliers.AddRange(Enumerable.Range(0, rows.Count).Where(i => dropped[i]).Select(i => rows[i].DomainId));
        }

        // Step 2 (after the outlier pass): the keys are the union of what the kept domains sent.
        var keys = KeyUnion(rows, kept);

        // Steps 4-5: weights over the kept domains, then diversity balancing.
        var weights = kept.Select(i => config.Weighting == DomainWeighting.Uniform ? 1.0 : rows[i].Confidence).ToArray();
        var p = new double[kept.Count];
        var balanced = DiversityBalancing.Balance(weights, config.DiversityEntropyTarget, p);

        // Step 6: one column at a time over the kept rows' present cells (row = position among the kept rows,
        // which keeps the input order for tie-breaks).
        var vector = new float[keys.Count];
        if (zero)
        {
            // Every cell of the union is present (absent ones as 0): the matrix is dense by definition.
            var column = new List<ColumnCell>(kept.Count);
            for (var d = 0; d < keys.Count; d++)
            {
                column.Clear();
                for (var r = 0; r < kept.Count; r++)
                    if (TryCell(cells[kept[r]], keys[d], zero, out var value)) column.Add(new ColumnCell(value, p[r], r));
                vector[d] = (float)ColumnRules.Combine(config.Method, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(column), config.TrimAlpha);
            }
        }
        else
        {
            var columns = PresentColumns(cells, kept, p);
            for (var d = 0; d < keys.Count; d++)
                vector[d] = (float)ColumnRules.Combine(config.Method, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(columns[keys[d]]), config.TrimAlpha);
        }

        var meta = new AggregationMeta(
            Participants: kept.Count,
            RejectedLowConfidence: rejectedLow,
            RejectedNonfinite: rejectedNonfinite,
            RejectedEmpty: rejectedEmpty,
            Outliers: outliers,
            Method: config.Method,
            TrimAlpha: config.TrimAlpha,
            ConfidenceMean: RobustStatistics.Mean(kept.Select(i => rows[i].Confidence).ToArray()),
            WeightEntropy: balanced.WeightEntropy,
            DiversityTemperature: balanced.DiversityTemperature,
            EffectiveDomains: balanced.EffectiveDomains);
        return new AggregationResult(vector, keys, meta);
    }

    /// <summary>
    /// Step 3's distances: m_d = median of column d's present values over <paramref name="cells"/>' rows; r_i =
    /// sqrt(mean over row i's present cells of (x - m_d)^2). With <paramref name="missingAsZero"/> every cell of
    /// <paramref name="keys"/> is present (absent ones as 0).
    /// </summary>
    /// <exception cref="ArgumentException">A row of <paramref name="cells"/> or a key is null (named by position).</exception>
    public static double[] OutlierDistances(IReadOnlyList<IReadOnlyDictionary<string, double>> cells, IReadOnlyList<string> keys, bool missingAsZero)
    {
        // Refused by position: a null row or key threw a NullReferenceException from inside the scan.
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(keys);
        for (var i = 0; i < cells.Count; i++)
            if (cells[i] is null) throw new ArgumentException($"cells[{i}] is null", nameof(cells));
        for (var d = 0; d < keys.Count; d++)
            if (keys[d] is null) throw new ArgumentException($"keys[{d}] is null", nameof(keys));
        if (!missingAsZero && cells.All(IsOrdinalMap) && KeyPositions(keys) is { } positions) return SparseOutlierDistances(cells, keys.Count, positions);
        var medians = new double[keys.Count];
        var present = new List<double>(cells.Count);
        for (var d = 0; d < keys.Count; d++)
        {
            present.Clear();
            foreach (var row in cells)
                if (TryCell(row, keys[d], missingAsZero, out var value)) present.Add(value);
            medians[d] = RobustStatistics.MedianInPlace(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(present));
        }

        var distances = new double[cells.Count];
        for (var i = 0; i < cells.Count; i++)
        {
            double sum = 0.0;
            var count = 0;
            for (var d = 0; d < keys.Count; d++)
            {
                if (!TryCell(cells[i], keys[d], missingAsZero, out var value)) continue;
                var diff = value - medians[d];
                sum += diff * diff;
                count++;
            }
            distances[i] = Math.Sqrt(sum / count);
        }
        return distances;
    }

    /// <summary>
    /// Step 6's columns when absent cells are ignored: each key's present cells of the kept rows, in row order
    /// (what a scan of every kept row for every key of the union gives, the tie-breaks included), gathered in one pass
    /// over the cells sent. That scan cost rows x union: quadratic in the domains when each sends keys of its own
    /// (5,000 domains with 24 private keys each: 133 s; now under a second).
    /// </summary>
    private static Dictionary<string, List<ColumnCell>> PresentColumns(List<IReadOnlyDictionary<string, double>> cells, List<int> kept, double[] p)
    {
        var columns = new Dictionary<string, List<ColumnCell>>(StringComparer.Ordinal);
        for (var r = 0; r < kept.Count; r++)
        {
            foreach (var (key, value) in cells[kept[r]])
            {
                if (!columns.TryGetValue(key, out var column)) columns[key] = column = [];
                column.Add(new ColumnCell(value, p[r], r));
            }
        }
        return columns;
    }

    /// <summary>Whether <paramref name="row"/> matches keys exactly, as the position map does: a caller's map with
    /// another comparer (ignoring case) finds cells the ordinal map would not, so those rows take the scan.</summary>
    private static bool IsOrdinalMap(IReadOnlyDictionary<string, double> row) =>
        row is Dictionary<string, double> map && (ReferenceEquals(map.Comparer, StringComparer.Ordinal) || ReferenceEquals(map.Comparer, EqualityComparer<string>.Default));

    /// <summary>Each key's position in <paramref name="keys"/>; null when a key is repeated (the column scan then
    /// counts it twice, as the reference does).</summary>
    private static Dictionary<string, int>? KeyPositions(IReadOnlyList<string> keys)
    {
        var positions = new Dictionary<string, int>(keys.Count, StringComparer.Ordinal);
        for (var d = 0; d < keys.Count; d++)
            if (!positions.TryAdd(keys[d], d)) return null;
        return positions;
    }

    /// <summary>
    /// <see cref="OutlierDistances"/> with absent cells ignored, from the cells sent rather than rows x keys: the
    /// medians see each column's present values in row order, and each row sums its terms in key order, so every
    /// float64 operation is the scan's, in the scan's order.
    /// </summary>
    private static double[] SparseOutlierDistances(IReadOnlyList<IReadOnlyDictionary<string, double>> cells, int keyCount, Dictionary<string, int> positions)
    {
        var columns = new List<double>?[keyCount];
        foreach (var row in cells)
            foreach (var (key, value) in row)
                if (positions.TryGetValue(key, out var d)) (columns[d] ??= []).Add(value);
        var medians = new double[keyCount];
        for (var d = 0; d < keyCount; d++)
            medians[d] = RobustStatistics.MedianInPlace(columns[d] is { } present ? System.Runtime.InteropServices.CollectionsMarshal.AsSpan(present) : []);

        var distances = new double[cells.Count];
        var order = new List<int>();
        var values = new List<double>();
        for (var i = 0; i < cells.Count; i++)
        {
            order.Clear();
            values.Clear();
            foreach (var (key, value) in cells[i])
            {
                if (!positions.TryGetValue(key, out var d)) continue;
                order.Add(d);
                values.Add(value);
            }
            var orderSpan = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(order);
            var valueSpan = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values);
            orderSpan.Sort(valueSpan);
            double sum = 0.0;
            for (var t = 0; t < orderSpan.Length; t++)
            {
                var diff = valueSpan[t] - medians[orderSpan[t]];
                sum += diff * diff;
            }
            distances[i] = Math.Sqrt(sum / orderSpan.Length);
        }
        return distances;
    }

    private static bool HasNonFinite(float[] vector)
    {
        foreach (var v in vector)
            if (!float.IsFinite(v)) return true;
        return false;
    }

    private static IReadOnlyDictionary<string, double> CellsOf(DomainUpdateInput update)
    {
        var map = new Dictionary<string, double>(update.Keys.Count, StringComparer.Ordinal);
        for (var i = 0; i < update.Keys.Count; i++) map[update.Keys[i]] = update.Vector[i];
        return map;
    }

    private static bool TryCell(IReadOnlyDictionary<string, double> row, string key, bool missingAsZero, out double value)
    {
        if (row.TryGetValue(key, out value)) return true;
        value = 0.0;
        return missingAsZero;
    }

    private static List<string> KeyUnion(List<DomainUpdateInput> rows, IEnumerable<int> which)
    {
        var union = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var i in which) union.UnionWith(rows[i].Keys);
        return [.. union];
    }
}
