using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The agreement checks every ILGPU backend runs (ilgpu-cpu here; cuda and opencl where a device exists):
/// values within DESIGN §13's tolerance of the float64 reference, discrete outcomes identical.
/// </summary>
internal static class AgreementChecks
{
    /// <summary>Per-row present counts and non-finite flags, exactly.</summary>
    public static void Scan(IComputeBackend backend, BatchShape shape, int seed)
    {
        var n = shape.Rows;
        var batch = RandomBatch.Create(shape with { NonFinite = true }, seed);
        var actual = new RowScan[n];
        backend.ScanRows(batch, actual);
        Assert.Equal(ColumnReference.Scan(batch), actual);
    }

    /// <summary>Column medians (exact), row distances (within tolerance) and the outlier flags they lead to (exact).</summary>
    public static void MediansAndDistances(IComputeBackend backend, BatchShape shape, int seed)
    {
        var (d, attackers) = (shape.Columns, shape.Attackers);
        var batch = RandomBatch.Create(shape, seed);
        var rows = RandomBatch.EligibleRows(batch);
        foreach (var missingAsZero in new[] { false, true })
        {
            var medians = new double[d];
            backend.ColumnMedians(batch, rows, missingAsZero, medians);
            var expectedMedians = ColumnReference.Medians(batch, rows, missingAsZero);
            Tolerance.Agree(expectedMedians, medians, $"median zero={missingAsZero}");
            // Medians are float32 values or the mean of two, computed in float64: exact.
            Assert.Equal(expectedMedians, medians);

            var distances = new double[rows.Length];
            backend.RowDistances(batch, rows, missingAsZero, expectedMedians, distances);
            var expectedDistances = ColumnReference.Distances(batch, rows, missingAsZero, expectedMedians);
            Tolerance.Agree(expectedDistances, distances, $"distance zero={missingAsZero}");

            var expectedFlags = new bool[rows.Length];
            var flags = new bool[rows.Length];
            OutlierRule.Flag(expectedDistances, 3.5, expectedFlags);
            OutlierRule.Flag(distances, 3.5, flags);
            Assert.Equal(expectedFlags, flags);
            if (attackers > 0 && rows.Length >= 5) Assert.Contains(true, flags);

            // Both passes in one call (the outlier step's entry point): the same medians, the same distances.
            var bothMedians = new double[d];
            var bothDistances = new double[rows.Length];
            backend.MediansAndDistances(batch, rows, missingAsZero, bothMedians, bothDistances);
            Assert.Equal(expectedMedians, bothMedians);
            Tolerance.Agree(expectedDistances, bothDistances, $"one-call distance zero={missingAsZero}");
            var bothFlags = new bool[rows.Length];
            OutlierRule.Flag(bothDistances, 3.5, bothFlags);
            Assert.Equal(expectedFlags, bothFlags);

            // The distances alone (the aggregator's call: no medians handed back): the same values.
            var alone = new double[rows.Length];
            backend.MediansAndDistances(batch, rows, missingAsZero, Span<double>.Empty, alone);
            Assert.Equal(bothDistances, alone);
        }
    }

    /// <summary>Every combine method with and without each Reptile rule, both missing-key modes, both weightings.</summary>
    public static void Combine(IComputeBackend backend, BatchShape shape, int seed, bool everyCombination = false)
    {
        var (d, ties) = (shape.Columns, shape.Ties);
        var batch = RandomBatch.Create(shape, seed);
        var rows = RandomBatch.EligibleRows(batch);
        var prior = RandomBatch.Prior(d, seed);
        var cases = 0;
        foreach (var method in Enum.GetValues<AggregationMethod>())
        foreach (var missingAsZero in new[] { false, true })
        foreach (var uniform in new[] { false, true })
        foreach (var step in new ReptileStep?[] { null, new(ReptileRule.Interpolate, 0.3), new(ReptileRule.Delta, 0.1) })
        {
            // Keep ilgpu-cpu time down: every method with both missing modes, the rest rotated.
            if (!everyCombination && cases++ % 3 != 0 && !(uniform && step is null)) continue;
            var weights = RandomBatch.Weights(batch, rows, uniform);
            var alpha = ties ? 0.25 : 0.1;
            var (expectedAggregate, expectedPrior, expectedEmpty) =
                ColumnReference.CombineAndStep(batch, rows, weights, method, alpha, missingAsZero, prior, step);

            var aggregate = new float[d];
            var stepped = (float[])prior.Clone();
            var empty = backend.Combine(batch, rows, weights, method, alpha, missingAsZero, aggregate, stepped, step);

            var what = $"{method} zero={missingAsZero} uniform={uniform} step={step}";
            Assert.Equal(expectedEmpty, empty);
            AgreeWithColumnRules(batch, rows, weights, method, alpha, missingAsZero, aggregate, what);
            Tolerance.Agree(expectedAggregate, aggregate, what);
            Tolerance.Agree(expectedPrior, stepped, what + " prior");
            for (var c = 0; c < d; c++)
                if (float.IsNaN(expectedAggregate[c])) Assert.Equal(prior[c], stepped[c]);
        }
    }

    /// <summary>
    /// The library's own float64 rules (<see cref="ColumnRules"/>, what the reference aggregator runs) on the
    /// same cells: within tolerance, and for the median rules (a data value or the mean of two, so any other
    /// pick shows) the very same float32 value.
    /// </summary>
    private static void AgreeWithColumnRules(
        DomainBatch batch, int[] rows, double[] weights, AggregationMethod method, double alpha, bool missingAsZero, float[] aggregate, string what)
    {
        var expected = new float[batch.Columns];
        var cells = new List<ColumnCell>();
        for (var d = 0; d < batch.Columns; d++)
        {
            cells.Clear();
            var zero = missingAsZero && ColumnReference.Sent(batch, rows, d);
            for (var k = 0; k < rows.Length; k++)
            {
                if (batch.IsPresent(rows[k], d)) cells.Add(new ColumnCell(batch.Row(rows[k])[d], weights[k], rows[k]));
                else if (zero) cells.Add(new ColumnCell(0.0, weights[k], rows[k]));
            }
            expected[d] = (float)ColumnRules.Combine(method, cells.ToArray(), alpha);
        }
        Tolerance.Agree(expected, aggregate, what + " vs ColumnRules");
        if (method is AggregationMethod.Median or AggregationMethod.WeightedMedian) Assert.Equal(expected, aggregate);
    }
}
