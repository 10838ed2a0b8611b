using Meta.Gpu.Compute;
using Meta.Gpu.Compute.Cpu;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Compute;

/// <summary>The cpu backend's fast kernels against its exact path on the primitive itself, over every selection
/// size the trimmed-mean kernel specialises (k+1 = 1..9 and beyond), medians of odd and even counts, ties, and
/// column counts with a scalar tail.</summary>
public sealed class CpuFastKernelTests
{
    [Theory]
    [InlineData(AggregationMethod.Mean)]
    [InlineData(AggregationMethod.TrimmedMean)]
    [InlineData(AggregationMethod.Median)]
    [InlineData(AggregationMethod.WeightedMedian)]
    [InlineData(AggregationMethod.TrimmedMean, Selection.Vector512Ints)]
    [InlineData(AggregationMethod.TrimmedMean, Selection.Vector512Floats)]
    public void Fast_kernels_equal_the_exact_path(AggregationMethod method, Selection selection = Selection.Vector256)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend { SelectionLanes = selection.Lanes() };
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var n in new[] { 1, 2, 3, 5, 8, 9, 16, 33, 64, 70, 90 })
        foreach (var alpha in new[] { 0.0, 0.1, 0.2, 0.3, 0.45 })
        foreach (var ties in new[] { false, true })
        {
            var d = 37 + rng.Next(40);
            var batch = (ties ? BatchScenario.TiedValues : BatchScenario.Plain).Make(rng.Next(), n, d);
            // Leave out a few rows so the kernels see a sparse row list.
            var rows = Enumerable.Range(0, n).Where(r => n < 4 || rng.Next(5) != 0).ToArray();
            var weights = rows.Select(_ => 0.05 + rng.NextDouble()).ToArray();
            var total = weights.Sum();
            for (var i = 0; i < weights.Length; i++) weights[i] /= total;
            var expected = new float[d];
            var actual = new float[d];
            var priorExpected = Enumerable.Range(0, d).Select(c => (float)Math.Cos(c)).ToArray();
            var priorActual = (float[])priorExpected.Clone();
            var step = new ReptileStep(ReptileRule.Interpolate, 0.3);
            exact.Combine(batch, rows, weights, method, alpha, false, expected, priorExpected, step);
            fast.Combine(batch, rows, weights, method, alpha, false, actual, priorActual, step);
            for (var c = 0; c < d; c++)
            {
                var context = $"seed {seed}, {method}{(selection != Selection.Vector256 ? $" ({selection})" : "")}, n={n} ({rows.Length} rows), alpha={alpha}, ties={ties}, column {c}";
                // An empty selection (every row left out) leaves no present cell: both paths must say NaN.
                Assert.True(Agrees(expected[c], actual[c]), $"{context}: {actual[c]} vs {expected[c]}");
                Assert.True(Agrees(priorExpected[c], priorActual[c]), $"{context}: prior {priorActual[c]} vs {priorExpected[c]}");
            }
        }
    }
    /// <summary>The random row lists above leave every row out only by chance (that chance once failed CI on a
    /// NaN-blind comparison): an empty selection, on purpose, for every method on both paths.</summary>
    [Theory]
    [InlineData(AggregationMethod.Mean)]
    [InlineData(AggregationMethod.TrimmedMean)]
    [InlineData(AggregationMethod.Median)]
    [InlineData(AggregationMethod.WeightedMedian)]
    public void An_empty_selection_gives_NaN_and_leaves_the_prior_on_both_paths(AggregationMethod method)
    {
        using var fast = new CpuBackend();
        using var exact = new CpuBackend { UseFastKernels = false };
        const int d = 45;
        var batch = BatchScenario.Plain.Make(7, 5, d);
        var expected = new float[d];
        var actual = new float[d];
        var priorExpected = Enumerable.Range(0, d).Select(c => (float)Math.Cos(c)).ToArray();
        var priorActual = (float[])priorExpected.Clone();
        var step = new ReptileStep(ReptileRule.Interpolate, 0.3);
        exact.Combine(batch, [], [], method, 0.2, false, expected, priorExpected, step);
        fast.Combine(batch, [], [], method, 0.2, false, actual, priorActual, step);
        Assert.All(expected, v => Assert.True(float.IsNaN(v)));
        Assert.All(actual, v => Assert.True(float.IsNaN(v)));
        // DESIGN: a column with no present cell leaves the prior's value unchanged.
        for (var c = 0; c < d; c++)
        {
            Assert.Equal((float)Math.Cos(c), priorExpected[c]);
            Assert.Equal((float)Math.Cos(c), priorActual[c]);
        }
    }

    /// <summary>k + 1 = 7 (trim_alpha 0.1 at 60-69 rows) has its own kernel that sorts groups of eight rows and
    /// merges them: every leftover count (0-7 rows after the groups), with and without ties, with eight columns a
    /// vector and with sixteen (the AVX-512 selection pass, emulated where the machine has none; column counts that
    /// leave eight-column and scalar remainders).</summary>
    [Theory]
    [InlineData(Selection.Vector256)]
    [InlineData(Selection.Vector512Ints)]
    [InlineData(Selection.Vector512Floats)]
    public void Trimmed_mean_grouped_selection_equals_the_exact_path(Selection selection)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend { SelectionLanes = selection.Lanes() };
        using var exact = new CpuBackend { UseFastKernels = false };
        foreach (var (count, alpha) in new[] { (60, 0.1), (61, 0.1), (62, 0.1), (63, 0.1), (64, 0.1), (65, 0.1), (67, 0.1), (69, 0.1), (14, 0.45), (15, 0.45) })
        foreach (var ties in new[] { false, true })
        {
            var d = 40 + rng.Next(40);
            var n = count + 3;
            var batch = (ties ? BatchScenario.TiedValues : BatchScenario.Plain).Make(rng.Next(), n, d);
            var rows = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(count).Order().ToArray();
            Assert.Equal(6, ExactColumnRulesTrimCount(alpha, rows.Length));
            var weights = rows.Select(_ => 0.05 + rng.NextDouble()).ToArray();
            var total = weights.Sum();
            for (var i = 0; i < weights.Length; i++) weights[i] /= total;
            var expected = new float[d];
            var actual = new float[d];
            exact.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, alpha, false, expected, default, null);
            fast.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, alpha, false, actual, default, null);
            for (var c = 0; c < d; c++)
                Assert.True(Math.Abs(expected[c] - actual[c]) <= 1e-5 + 1e-5 * Math.Abs(expected[c]),
                    $"seed {seed}, {rows.Length} rows, alpha={alpha}, ties={ties}, lanes={selection}, column {c}: {actual[c]} vs {expected[c]}");
        }
    }

    /// <summary>The trimmed-mean kernels order cells as int keys with -0 and +0 sharing one: a -0 and a +0 of
    /// different rows (and weights) on either side of a trim threshold are a tie there, as in the reference, which the
    /// rows settle (the tie pass); an unmasked NaN or infinity anywhere in a column goes to the exact path. Columns mix those cases with
    /// plain ones; the row counts reach the streamed k+1 = 7 kernel (64, 67) and the tiled one (13, 33, 90); the
    /// streamed ones also with the Vector512 selection pass: its int keys tell -0 from +0 (the value check catches that
    /// tie), and its float min/max may turn a -0/+0 pair into two zeros of one sign or lose a NaN.</summary>
    [Theory]
    [InlineData(64, false)]
    [InlineData(64, true)]
    [InlineData(67, false)]
    [InlineData(13, false)]
    [InlineData(33, true)]
    [InlineData(90, false)]
    [InlineData(64, false, Selection.Vector512Ints)]
    [InlineData(67, true, Selection.Vector512Ints)]
    [InlineData(90, false, Selection.Vector512Ints)]
    [InlineData(64, false, Selection.Vector512Floats)]
    [InlineData(67, true, Selection.Vector512Floats)]
    [InlineData(90, false, Selection.Vector512Floats)]
    public void Trimmed_mean_streamed_kernel_handles_signed_zeros_and_non_finite_cells(int n, bool fused, Selection selection = Selection.Vector256)
    {
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        using var fast = new CpuBackend { SelectionLanes = selection.Lanes() };
        using var exact = new CpuBackend { UseFastKernels = false };
        var d = 8 * 70 + 5;
        var trimmed = (int)Math.Floor(0.1 * n);
        var batch = new DomainBatch(n, d);
        for (var c = 0; c < d; c++)
        {
            var kind = c % 7;
            for (var r = 0; r < n; r++) batch.Row(r)[c] = (float)(rng.NextDouble() * 2 - 1);
            var a = rng.Next(n);
            var b = (a + 1 + rng.Next(n - 1)) % n;
            switch (kind)
            {
                case 1: // -0 and +0 are the k-th and (k+1)-th smallest: a tie across the low threshold
                case 2: // the same at the high end, mirrored
                    for (var r = 0; r < n; r++) batch.Row(r)[c] = (kind == 1 ? 1 : -1) * (float)(1 + rng.NextDouble());
                    foreach (var r in Enumerable.Range(0, n).Where(r => r != a && r != b).Take(trimmed - 1))
                        batch.Row(r)[c] = (kind == 1 ? -1 : 1) * (float)(3 + rng.NextDouble());
                    batch.Row(a)[c] = -0f;
                    batch.Row(b)[c] = 0f;
                    break;
                case 3: batch.Row(a)[c] = float.NaN; break;
                case 4: batch.Row(a)[c] = rng.Next(2) == 0 ? float.PositiveInfinity : float.NegativeInfinity; break;
                case 5: batch.Row(a)[c] = -0f; batch.Row(b)[c] = 0f; break; // zeros well inside the kept range
            }
        }
        batch.MarkChanged();
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = rows.Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var expected = new float[d];
        var actual = new float[d];
        var priorExpected = Enumerable.Range(0, d).Select(c => (float)Math.Sin(c)).ToArray();
        var priorActual = (float[])priorExpected.Clone();
        ReptileStep? step = fused ? new ReptileStep(ReptileRule.Interpolate, 0.25) : null;
        var emptyExpected = exact.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false, expected, fused ? priorExpected : default, step);
        var emptyActual = fast.Combine(batch, rows, weights, AggregationMethod.TrimmedMean, 0.1, false, actual, fused ? priorActual : default, step);
        Assert.Equal(emptyExpected, emptyActual);
        for (var c = 0; c < d; c++)
        {
            Assert.True(Agrees(expected[c], actual[c]), $"seed {seed}, n={n}, lanes={selection}, column {c} (case {c % 7}): {actual[c]} vs {expected[c]}");
            Assert.True(Agrees(priorExpected[c], priorActual[c]), $"seed {seed}, n={n}, column {c}: prior {priorActual[c]} vs {priorExpected[c]}");
        }
    }

    /// <summary>
    /// The fast kernels hand a column they cannot settle to the exact path, which keeps every result right: a kernel
    /// broken so that it handed over every column (thresholds that never separate, say) would pass every agreement
    /// test and only be slow. On plain data (no non-finite cell, values near their mean) they must settle every column
    /// but the scalar tail and the odd column with an exact tie where it matters (float32 draws do tie: a few columns in
    /// a thousand here); a hundredth of the columns is the allowance.
    /// </summary>
    [Theory]
    [InlineData(AggregationMethod.TrimmedMean, 64, 0.1, Selection.Vector256)]
    [InlineData(AggregationMethod.TrimmedMean, 64, 0.1, Selection.Vector512Ints)]
    [InlineData(AggregationMethod.TrimmedMean, 64, 0.1, Selection.Vector512Floats)]
    [InlineData(AggregationMethod.TrimmedMean, 90, 0.2, Selection.Vector256)]
    [InlineData(AggregationMethod.TrimmedMean, 90, 0.2, Selection.Vector512Ints)]
    [InlineData(AggregationMethod.TrimmedMean, 90, 0.2, Selection.Vector512Floats)]
    [InlineData(AggregationMethod.TrimmedMean, 13, 0.1, Selection.Vector256)]
    [InlineData(AggregationMethod.Median, 64, 0.1, Selection.Vector256)]
    [InlineData(AggregationMethod.WeightedMedian, 64, 0.1, Selection.Vector256)]
    public void Fast_kernels_settle_plain_columns_themselves(AggregationMethod method, int n, double alpha, Selection selection)
    {
        SkipUnlessAKernelServes(method);
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        const int d = 16 * 101 + 11; // whole vectors of either width, then a scalar tail
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < d; c++) row[c] = 1f + (float)rng.NextDouble();
        }
        batch.MarkChanged();
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = rows.Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var total = weights.Sum();
        for (var i = 0; i < weights.Length; i++) weights[i] /= total;
        var job = new CombineJob(batch, rows, weights, method, alpha, missingAsZero: false, useFastKernels: true, selectionLanes: selection.Lanes());
        var aggregate = new float[d];
        job.Run(0, d, new ColumnTarget(aggregate, default, null));
        Assert.True(job.ExactColumns <= d % 8 + d / 100, $"seed {seed}, {method}, n={n}, lanes={selection}: {job.ExactColumns} of {d} columns on the exact path");
        Assert.All(aggregate, v => Assert.InRange(v, 1f, 2f));
    }

    /// <summary>
    /// The largest calls each fast kernel takes (<see cref="CombineJob"/>'s routing): a trim of 31 (lists of k + 1 =
    /// <see cref="CombineJob.MaxSelection"/>), 512 rows of median, 256 rows of weighted median, 512 rows of a weighted
    /// median of equal weights. A routing that sent them to the exact path would give the same values, only several
    /// times slower: the count of exact columns is what shows it. At 256 rows the weighted median's key groups (the
    /// low 8 bits of a value carry the row) mix values in a percent or two of plain columns, which it hands over.
    /// </summary>
    [Theory]
    [InlineData(AggregationMethod.TrimmedMean, 100, 0.31, false)]
    [InlineData(AggregationMethod.Median, 512, 0.1, false)]
    [InlineData(AggregationMethod.WeightedMedian, 256, 0.1, false)]
    [InlineData(AggregationMethod.WeightedMedian, 512, 0.1, true)]
    public void Fast_kernels_serve_the_largest_calls_they_take(AggregationMethod method, int n, double alpha, bool equalWeights)
    {
        SkipUnlessAKernelServes(equalWeights && method == AggregationMethod.WeightedMedian ? AggregationMethod.Median : method);
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        const int d = 16 * 101 + 11;
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            var row = batch.Row(r);
            for (var c = 0; c < d; c++) row[c] = 1f + (float)rng.NextDouble();
        }
        batch.MarkChanged();
        var rows = Enumerable.Range(0, n).ToArray();
        var weights = rows.Select(_ => equalWeights ? 1.0 / n : 0.05 + rng.NextDouble()).ToArray();
        var total = weights.Sum();
        if (!equalWeights)
            for (var i = 0; i < weights.Length; i++) weights[i] /= total;
        var job = new CombineJob(batch, rows, weights, method, alpha, missingAsZero: false, useFastKernels: true);
        var aggregate = new float[d];
        job.Run(0, d, new ColumnTarget(aggregate, default, null));
        Assert.True(job.ExactColumns <= d / 10, $"seed {seed}, {method}, n={n}: {job.ExactColumns} of {d} columns on the exact path");
        Assert.Equal(equalWeights ? d : 0, job.EqualWeightColumns);
        Assert.All(aggregate, v => Assert.InRange(v, 1f, 2f));
    }

    /// <summary>
    /// A column whose kept cells are all one value (lo = hi) has that value as its trimmed mean whichever rows ties
    /// keep: the fast kernels settle it themselves. Such columns are what a weight no domain changed looks like (every
    /// row the same value: frozen layers, zero-initialised biases), and a whole model of them went to the exact path,
    /// about 40x slower than plain data. Kinds: one value in every row, +0 in every row, one value with up to k
    /// attackers at each end, and zeros of both signs (the reference's sign of a zero mean is within tolerance).
    /// </summary>
    [Theory]
    [InlineData(64, 0.1, Selection.Vector256)]
    [InlineData(64, 0.1, Selection.Vector512Ints)]
    [InlineData(64, 0.1, Selection.Vector512Floats)]
    [InlineData(90, 0.2, Selection.Vector256)]
    [InlineData(90, 0.2, Selection.Vector512Ints)]
    [InlineData(90, 0.2, Selection.Vector512Floats)]
    [InlineData(13, 0.1, Selection.Vector256)]
    [InlineData(33, 0.3, Selection.Vector256)]
    public void Trimmed_mean_kernels_settle_one_valued_middles_themselves(int n, double alpha, Selection selection)
    {
        SkipUnlessAKernelServes(AggregationMethod.TrimmedMean);
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        const int d = 16 * 41 + 5;
        var k = (int)Math.Floor(alpha * n);
        var batch = new DomainBatch(n, d);
        for (var c = 0; c < d; c++)
        {
            var value = (float)(rng.NextDouble() * 4 - 2);
            for (var r = 0; r < n; r++)
            {
                batch.Row(r)[c] = (c % 4) switch
                {
                    0 => value,
                    1 => 0f,
                    2 => r < k ? value - 10f - r : r >= n - k ? value + 10f + r : value,
                    _ => r % 3 == 0 ? -0f : 0f,
                };
            }
        }
        batch.MarkChanged();
        var job = FastAgainstExact(batch, AggregationMethod.TrimmedMean, alpha, selection, rng, $"seed {seed}, n={n}, lanes={selection}");
        Assert.True(job.ExactColumns <= d % 8, $"seed {seed}, n={n}, lanes={selection}: {job.ExactColumns} of {d} columns on the exact path");
    }

    /// <summary>
    /// Quantised values (17 levels) tie at a trim threshold in most columns; the trimmed mean kernels settle such ties by
    /// rows themselves (the first equal cells in row order dropped at the bottom, the last at the top), not on the exact
    /// path, which made such data about 60x slower. Levels include zeros of both signs (one value in the reference's
    /// order). No column may go there, and all agree with it.
    /// </summary>
    [Theory]
    [InlineData(64, 0.1, Selection.Vector256)]
    [InlineData(64, 0.1, Selection.Vector512Ints)]
    [InlineData(64, 0.1, Selection.Vector512Floats)]
    [InlineData(90, 0.2, Selection.Vector256)]
    [InlineData(90, 0.2, Selection.Vector512Floats)]
    [InlineData(67, 0.1, Selection.Vector256)]
    [InlineData(13, 0.1, Selection.Vector256)]
    [InlineData(33, 0.3, Selection.Vector256)]
    public void Trimmed_mean_kernels_settle_ties_at_a_threshold_themselves(int n, double alpha, Selection selection)
    {
        SkipUnlessAKernelServes(AggregationMethod.TrimmedMean);
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        const int d = 16 * 53 + 7;
        var batch = new DomainBatch(n, d);
        for (var r = 0; r < n; r++)
        {
            var row = batch.Row(r);
            // Levels k/8 for k = -8..8, zero as -0 or +0: every threshold is one of them and most tie.
            for (var c = 0; c < d; c++)
            {
                var level = rng.Next(-8, 9) / 8f;
                row[c] = level == 0f && rng.Next(2) == 0 ? -0f : level;
            }
        }
        batch.MarkChanged();
        var job = FastAgainstExact(batch, AggregationMethod.TrimmedMean, alpha, selection, rng, $"seed {seed}, n={n}, lanes={selection}");
        Assert.True(job.ExactColumns <= d % 8, $"seed {seed}, n={n}, lanes={selection}: {job.ExactColumns} of {d} columns on the exact path");
    }

    /// <summary>
    /// A column whose rows all hold one value has it as its weighted median: the weighted median kernel settles it
    /// without the exact path or its scalar walk of a key group (every cell of such a column shares one key group, so
    /// a model of frozen weights walked every column, about 4x slower). Columns of one nonzero value, of +0, and of one
    /// value with a single attacker (whose picked key group still holds one value) must settle so, and so must zeros of
    /// both signs: -0 and +0 are one value ordered by row in the reference, as the keys order them, so the picked
    /// cell's sign is the reference's (checked bit for bit). Quantised weights put such zeros at the median of most
    /// columns; walking them made the kernel about 2.5x slower on such a model. All agree with the exact path.
    /// </summary>
    [Theory]
    [InlineData(64)]
    [InlineData(100)]
    [InlineData(13)]
    public void Weighted_median_kernel_settles_one_valued_columns_itself(int n)
    {
        SkipUnlessAKernelServes(AggregationMethod.WeightedMedian);
        var seed = TestSeed.Next();
        var rng = new Random(seed);
        const int d = 8 * 61 + 3;
        var batch = new DomainBatch(n, d);
        for (var c = 0; c < d; c++)
        {
            var value = (float)(rng.NextDouble() * 4 - 2);
            var attacker = rng.Next(n);
            for (var r = 0; r < n; r++)
            {
                batch.Row(r)[c] = (c % 4) switch
                {
                    0 => value,
                    1 => 0f,
                    2 => (r + c / 4) % 3 == 0 ? -0f : 0f,
                    _ => r == attacker ? value + 100f : value,
                };
            }
        }
        batch.MarkChanged();
        var job = FastAgainstExact(batch, AggregationMethod.WeightedMedian, 0.1, Selection.Vector256, rng, $"seed {seed}, n={n}",
            sameBits: c => c % 4 == 2);
        // Equal weights could put a pick on S/2 (a mean of two, settled in float64): random ones leave a few such lanes.
        Assert.True(job.ExactColumns + job.GroupWalkedColumns <= d % 8 + 4,
            $"seed {seed}, n={n}: {job.ExactColumns} exact and {job.GroupWalkedColumns} walked of {d} columns");
    }

    /// <summary>
    /// Equal weights (weighting=uniform, or confidences the diversity balancing flattened) make DESIGN §4's weighted
    /// median the median: every running sum is a whole number of 1/n, so the first to reach S/2 - 1e-12 S is rank
    /// ceil(n/2) - 1, and it lies on S/2 (a mean with the next value) exactly when n is even. The weighted median
    /// kernel put every such pick on S/2 and settled it by a float64 sum over the column, about 2.2 times the time of
    /// random weights; the median kernel serves these calls now. Checked against the exact path, with ties
    /// (<see cref="EqualWeightRounds"/>), and the columns counted on the path taken.
    /// </summary>
    [Theory]
    [InlineData(64)]
    [InlineData(63)]
    [InlineData(100)]
    [InlineData(2)]
    [InlineData(1)]
    public void Weighted_median_with_equal_weights_is_the_median(int n)
    {
        SkipUnlessAKernelServes(AggregationMethod.Median);
        var seed = TestSeed.Next();
        const int d = 8 * 61 + 3;
        using var fast = new CpuBackend();
        EqualWeightRounds.AgreeWithTheExactPath(fast, seed, n, d);
        var batch = EqualWeightRounds.Batch(seed, n, d);
        var rows = Enumerable.Range(0, n).ToArray();
        foreach (var weight in new[] { 1.0 / n, 1.0 })
        {
            var job = new CombineJob(batch, rows, rows.Select(_ => weight).ToArray(), AggregationMethod.WeightedMedian, 0.1, missingAsZero: false, useFastKernels: true);
            job.Run(0, d, new ColumnTarget(new float[d], default, null));
            Assert.True(job.ExactColumns <= d % 8 && job.GroupWalkedColumns == 0 && job.EqualWeightColumns == d,
                $"seed {seed}, n={n}: {job.EqualWeightColumns} by the median kernel, {job.ExactColumns} exact and {job.GroupWalkedColumns} walked of {d} columns");
        }
    }

    /// <summary>The tests that count the columns a kernel settled itself need that kernel on this machine: the kernels
    /// need vector hardware (<see cref="PortableVector256"/>; the weighted mean a fused multiply-add in it too), the
    /// weighted median AVX2's gathers. Elsewhere the exact path serves every column, as the agreement tests check.</summary>
    private static void SkipUnlessAKernelServes(AggregationMethod method)
    {
        var served = method switch
        {
            AggregationMethod.Mean => PortableVector256.IsFastWithFusedMultiplyAdd,
            AggregationMethod.WeightedMedian => WeightedMedianKernel.IsSupported,
            _ => PortableVector256.IsFast,
        };
        Assert.SkipUnless(served, $"no {method} kernel on this machine's vectors: the exact path serves every column");
    }

    /// <summary>Combines every column of <paramref name="batch"/> (all rows, random weights from <paramref name="rng"/>)
    /// with the fast kernels, checks each against the exact path (bit for bit in the columns <paramref name="sameBits"/>
    /// names), and returns the fast job for its path counts.</summary>
    private static CombineJob FastAgainstExact(
        DomainBatch batch, AggregationMethod method, double alpha, Selection selection, Random rng, string context, Predicate<int>? sameBits = null)
    {
        var d = batch.Columns;
        var rows = Enumerable.Range(0, batch.Rows).ToArray();
        var weights = rows.Select(_ => 0.05 + rng.NextDouble()).ToArray();
        var total = weights.Sum();
        for (var i = 0; i < weights.Length; i++) weights[i] /= total;
        var job = new CombineJob(batch, rows, weights, method, alpha, missingAsZero: false, useFastKernels: true, selectionLanes: selection.Lanes());
        var actual = new float[d];
        job.Run(0, d, new ColumnTarget(actual, default, null));
        using var exact = new CpuBackend { UseFastKernels = false };
        var expected = new float[d];
        exact.Combine(batch, rows, weights, method, alpha, false, expected, default, null);
        for (var c = 0; c < d; c++)
        {
            Assert.True(Agrees(expected[c], actual[c]), $"{context}, column {c} (kind {c % 4}): {actual[c]} vs {expected[c]}");
            if (sameBits?.Invoke(c) == true)
                Assert.True(BitConverter.SingleToInt32Bits(expected[c]) == BitConverter.SingleToInt32Bits(actual[c]),
                    $"{context}, column {c}: {actual[c]:R} ({(float.IsNegative(actual[c]) ? "-" : "+")}) vs {expected[c]:R} ({(float.IsNegative(expected[c]) ? "-" : "+")})");
        }
        return job;
    }

    private static bool Agrees(float expected, float actual) =>
        float.IsNaN(expected) ? float.IsNaN(actual) : Math.Abs(expected - actual) <= 1e-5 + 1e-5 * Math.Abs(expected);

    private static int ExactColumnRulesTrimCount(double alpha, int n) => (int)Math.Floor(alpha * n);
}
