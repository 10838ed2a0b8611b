using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Compute;

/// <summary>
/// §4 step 3's distances r_i summed as the float64 reference sums them (<see cref="CrossDomainMetaAggregator.OutlierDistances"/>):
/// each row's present cells in column order, one <c>s += d * d</c> at a time, no fused multiply-add, no partial
/// sums. The backends' distances (vector accumulators, column chunks, device reductions) differ from these in the
/// last bits; where such bits decide a flag (<see cref="OutlierRule.IsSettled"/>), these decide it instead, so the
/// flags come out as the reference's (§4: every discrete decision).
/// </summary>
/// <remarks>Rows in parallel, each a scalar loop: about as slow as the reference itself, so only for the rounds
/// whose decision hangs on rounding (in practice: distances tied to the last bits, or more than half the domains
/// at one distance so that the MAD is 0).</remarks>
public static class ReferenceOrderDistances
{
    /// <summary>
    /// How far a backend's r_i may lie from the reference's, relative to r_i, when both sum the same float64
    /// squares of at most <paramref name="columns"/> cells in different orders (with or without fused multiply-add):
    /// each sum is within (m - 1) u of the exact one (u = 2^-53), each square within u, and the mean and the
    /// square root add a few u; r halves the sum's relative error. Generous by a factor of about two.
    /// </summary>
    public static double RelativeError(int columns) => (4.0 * columns + 16.0) * Math.Pow(2, -53);

    /// <summary>r_i of each of <paramref name="rows"/> into <paramref name="distances"/>, in the same order; with
    /// <paramref name="missingAsZero"/> an absent cell of a column some listed row sent counts as 0, as
    /// <c>missing_keys = zero</c> says. <paramref name="medians"/>: the column medians exactly as the reference takes
    /// them (the even count's (a + b) / 2 in float64; every backend's <see cref="IComputeBackend.ColumnMedians"/>
    /// gives those).</summary>
    public static void Compute(DomainBatch batch, ReadOnlySpan<int> rows, bool missingAsZero, ReadOnlySpan<double> medians, Span<double> distances)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.CheckRowSelection(rows, nameof(rows));
        if (medians.Length < batch.Columns) throw new ArgumentException("medians must be D long", nameof(medians));
        if (distances.Length < rows.Length) throw new ArgumentException("distances must hold one entry per row", nameof(distances));
        var listed = rows.ToArray();
        var m = medians[..batch.Columns].ToArray();
        // missing_keys = zero: a column is in the reference's key union when some listed row sent it, and then
        // counts for every row (an absent cell as 0).
        var union = batch.Mask is not null && missingAsZero ? batch.SentColumns(listed, 0, batch.Columns) : null;
        var result = new double[listed.Length];
        Parallel.For(0, listed.Length, i => result[i] = Row(batch, listed[i], union, m));
        result.CopyTo(distances);
    }

    private static double Row(DomainBatch batch, int row, bool[]? union, double[] medians)
    {
        var values = batch.Row(row);
        var present = batch.Mask is null ? default : batch.MaskRow(row);
        var sum = 0.0;
        var count = 0;
        for (var c = 0; c < values.Length; c++)
        {
            double value = values[c];
            if (!present.IsEmpty && present[c] == 0)
            {
                if (union is null || !union[c]) continue;
                value = 0.0;
            }
            var diff = value - medians[c];
            sum += diff * diff;
            count++;
        }
        return Math.Sqrt(sum / count);
    }
}
