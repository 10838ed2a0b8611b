using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The cpu backend's outlier distances without a mask (the vectorised path): r_i = sqrt(mean over the columns of
/// (x - m_d)^2) in float64, as the reference sums them in column order, up to the order of the additions.
/// </summary>
public sealed class CpuRowDistanceTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 17)]
    [InlineData(9, 8191)]
    [InlineData(4, 8193)]
    [InlineData(33, 20011)]
    public void Distances_match_a_column_order_float64_sum(int n, int d)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < d; c++) row[c] = (float)(rng.NextDouble() * 200 - 100) * (r == 0 ? 1000f : 1f);
        }
        var medians = Enumerable.Range(0, d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        int[] rows = [.. Enumerable.Range(0, n).Where(r => n == 1 || r != 1)];
        foreach (var workers in new[] { 1, 2 })
        {
            using var cpu = new CpuBackend(workers);
            var distances = new double[rows.Length];
            cpu.RowDistances(batch, rows, false, medians, distances);
            for (var k = 0; k < rows.Length; k++)
            {
                var row = batch.Row(rows[k]);
                var sum = 0.0;
                for (var c = 0; c < d; c++)
                {
                    var diff = row[c] - medians[c];
                    sum += diff * diff;
                }
                var expected = Math.Sqrt(sum / d);
                Assert.True(Math.Abs(distances[k] - expected) <= 1e-12 * expected,
                    $"seed {seed}, N={n}, D={d}, workers {workers}, row {rows[k]}: {distances[k]} != {expected}");
            }
        }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void A_non_finite_cell_makes_its_rows_distance_non_finite(float bad)
    {
        // The read-once round relies on it: a non-finite distance sends the round back to the row scan.
        var batch = new DomainBatch(3, 8200);
        batch.Row(2)[8199] = bad;
        var distances = new double[3];
        using var cpu = new CpuBackend();
        cpu.RowDistances(batch, [0, 1, 2], false, new double[8200], distances);
        Assert.Equal([0.0, 0.0], distances[..2]);
        Assert.False(double.IsFinite(distances[2]));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(6, 13)]
    [InlineData(33, 1003)]
    [InlineData(64, 4099)]
    [InlineData(130, 777)]
    public void The_outlier_pass_in_one_read_equals_medians_then_distances(int n, int d)
    {
        // The fused pass reads each block's rows for the distances right after their medians; its medians must
        // be the same doubles and its distances the same sums in another order.
        var seed = TestSeed.Next();
        var batch = BatchScenario.Attacked.Make(seed, n, d);
        int[] rows = [.. Enumerable.Range(0, n).Where(r => r % 5 != 3)];
        foreach (var workers in new[] { 1, 2 })
        {
            using var cpu = new CpuBackend(workers);
            var medians = new double[d];
            var distances = new double[rows.Length];
            cpu.ColumnMedians(batch, rows, false, medians);
            cpu.RowDistances(batch, rows, false, medians, distances);
            var fusedMedians = new double[d];
            var fusedDistances = new double[rows.Length];
            cpu.MediansAndDistances(batch, rows, false, fusedMedians, fusedDistances);
            Assert.Equal(medians, fusedMedians);
            for (var k = 0; k < rows.Length; k++)
                Assert.True(Math.Abs(fusedDistances[k] - distances[k]) <= 1e-12 * distances[k],
                    $"seed {seed}, N={n}, D={d}, workers {workers}, row {rows[k]}: {fusedDistances[k]} != {distances[k]}");

            // The aggregator asks for the distances alone: the same ones, with no medians handed back.
            var alone = new double[rows.Length];
            cpu.MediansAndDistances(batch, rows, false, Span<double>.Empty, alone);
            Assert.Equal(fusedDistances, alone);
        }
    }

    [Fact]
    public void Distances_alone_are_those_of_the_two_calls_on_a_masked_batch_and_a_short_medians_span_is_refused()
    {
        var seed = TestSeed.Next();
        var batch = BatchScenario.Masked.Make(seed, 9, 37);
        int[] rows = [.. Enumerable.Range(0, 9)];
        using var cpu = new CpuBackend();
        IComputeBackend backend = cpu;
        foreach (var zero in new[] { false, true })
        {
            var medians = new double[37];
            var distances = new double[9];
            cpu.ColumnMedians(batch, rows, zero, medians);
            cpu.RowDistances(batch, rows, zero, medians, distances);
            var alone = new double[9];
            backend.MediansAndDistances(batch, rows, zero, Span<double>.Empty, alone);
            Assert.Equal(distances, alone);
        }
        var ex = Assert.Throws<ArgumentException>(() => cpu.MediansAndDistances(batch, rows, false, new double[36], new double[9]));
        Assert.Equal("medians", ex.ParamName);
    }
}
