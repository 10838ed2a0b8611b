using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>What a generated batch contains besides honest domains.</summary>
public sealed record BatchScenario(string Name, bool Mask = false, bool NonFinite = false, bool Ties = false, bool Attackers = false,
    bool Cancelling = false)
{
    public static readonly BatchScenario Plain = new("plain");
    public static readonly BatchScenario Masked = new("mask", Mask: true);
    public static readonly BatchScenario NonFiniteRows = new("nonfinite", Mask: true, NonFinite: true);
    public static readonly BatchScenario TiedValues = new("ties", Ties: true);
    public static readonly BatchScenario TiedMasked = new("ties+mask", Mask: true, Ties: true);
    public static readonly BatchScenario Attacked = new("attackers", Attackers: true);
    public static readonly BatchScenario AttackedMasked = new("attackers+mask", Mask: true, Attackers: true);

    public static readonly IReadOnlyList<BatchScenario> All = [Plain, Masked, NonFiniteRows, TiedValues, TiedMasked, Attacked, AttackedMasked];

    /// <summary>
    /// Domains that disagree in sign at magnitude 1e4 and cancel: rows r and r + N/2 hold c ± v (v from 5e3 to 1.5e4
    /// per cell) around a small centre c, all with one confidence, so every mean is near c while its terms are
    /// ten thousand times larger (float32 sums err far beyond §13's tolerance there). Not in <see cref="All"/>,
    /// whose rotation pairs each scenario with every method; its own test runs it with every method.
    /// </summary>
    public static readonly BatchScenario SpreadPairs = new("cancelling", Cancelling: true);

    /// <summary>Seeded N x D batch: per-column centres plus noise (or values from a tiny set), random
    /// confidences (some below the minimum, one NaN), and the scenario's extras.</summary>
    public DomainBatch Make(int seed, int n, int d)
    {
        var rng = new Random(seed);
        var batch = new DomainBatch(n, d, Mask);
        var centre = new double[d];
        for (var c = 0; c < d; c++) centre[c] = Gaussian(rng);
        // Uniform noise around the centres: cheap enough for the 16.8M-cell batches.
        float[] tiny = [-1f, -0.5f, -0f, 0f, 0.5f, 1f];
        for (var r = 0; r < n; r++)
        {
            batch.Ids[r] = $"d{r:D4}";
            batch.Confidences[r] = rng.NextDouble() < 0.1 ? 0.01 + 0.03 * rng.NextDouble() : 0.05 + 0.95 * rng.NextDouble();
            var row = batch.Row(r);
            for (var c = 0; c < d; c++)
                row[c] = Ties ? tiny[rng.Next(tiny.Length)] : (float)centre[c] + 0.6f * (rng.NextSingle() - 0.5f);
            if (Mask)
            {
                var present = batch.MaskRow(r);
                for (var c = 0; c < d; c++) present[c] = (byte)(rng.NextDouble() < 0.7 ? 1 : 0);
            }
        }
        if (Cancelling)
        {
            var half = n / 2;
            for (var r = 0; r < half; r++)
            {
                var up = batch.Row(r);
                var down = batch.Row(r + half);
                for (var c = 0; c < d; c++)
                {
                    var v = 1e4f * (0.5f + rng.NextSingle());
                    up[c] = (float)(0.1 * centre[c]) + v;
                    down[c] = (float)(0.1 * centre[c]) - v;
                }
            }
            if (n % 2 == 1)
            {
                var last = batch.Row(n - 1);
                for (var c = 0; c < d; c++) last[c] = (float)(0.1 * centre[c]);
            }
            batch.Confidences.AsSpan().Fill(0.8);
        }
        if (n >= 4 && !Cancelling) batch.Confidences[n / 2] = rng.Next(2) == 0 ? double.NaN : 0.05; // NaN rejected; equal kept
        if (Mask)
        {
            if (n >= 3) batch.MaskRow(1).Clear(); // a row with no present cell: rejected_empty
            if (d >= 7)
            {
                // Columns no domain sent: NaN in the aggregate, flagged, prior unchanged.
                var gone = rng.Next(d);
                for (var r = 0; r < n; r++) batch.MaskRow(r)[gone] = 0;
            }
        }
        if (NonFinite && n >= 3)
        {
            var row = rng.Next(n);
            var col = rng.Next(d);
            batch.Row(row)[col] = rng.Next(2) == 0 ? float.NaN : float.NegativeInfinity;
            batch.MaskRow(row)[col] = 1;
            // A non-finite value in an absent cell is never looked at.
            var other = (row + 1) % n;
            batch.Row(other)[col] = float.PositiveInfinity;
            batch.MaskRow(other)[col] = 0;
        }
        if (Attackers && n >= 6)
        {
            Attack(batch, n - 1, x => x + 5f);
            Attack(batch, n - 2, x => -x);
            Attack(batch, n - 3, x => 10f * x);
            for (var r = n - 3; r < n; r++) batch.Confidences[r] = 0.9;
        }
        batch.MarkChanged();
        return batch;
    }

    private static void Attack(DomainBatch batch, int row, Func<float, float> f)
    {
        var values = batch.Row(row);
        for (var c = 0; c < values.Length; c++) values[c] = f(values[c]);
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - rng.NextDouble())) * Math.Cos(2.0 * Math.PI * rng.NextDouble());

    public override string ToString() => Name;
}
