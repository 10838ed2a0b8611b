using Meta.Gpu.Compute;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>What a generated batch contains.</summary>
/// <param name="Rows">N.</param>
/// <param name="Columns">D.</param>
/// <param name="Mask">With a presence mask (about a quarter of the cells absent, some rows empty).</param>
/// <param name="Ties">Values on a coarse grid, so columns have many equal values.</param>
/// <param name="Attackers">Rows shifted far from the rest (what the outlier pass must find).</param>
/// <param name="NonFinite">Rows with a NaN or infinity in a cell (present in some, absent in others).</param>
internal sealed record BatchShape(int Rows, int Columns, bool Mask, bool Ties, int Attackers = 0, bool NonFinite = false)
{
    public override string ToString() =>
        $"{Rows}x{Columns}{(Mask ? " mask" : "")}{(Ties ? " ties" : "")}{(Attackers > 0 ? $" attackers={Attackers}" : "")}{(NonFinite ? " nonfinite" : "")}";
}

/// <summary>Seeded random dense batches.</summary>
internal static class RandomBatch
{
    public static DomainBatch Create(BatchShape shape, int seed)
    {
        var random = new Random(seed);
        var batch = new DomainBatch(shape.Rows, shape.Columns, shape.Mask);
        for (var i = 0; i < shape.Rows; i++)
        {
            var row = batch.Row(i);
            var shift = i < shape.Attackers ? 50f + 10f * random.NextSingle() : 0f;
            for (var d = 0; d < shape.Columns; d++)
            {
                var x = (float)(random.NextDouble() * 4 - 2);
                if (shape.Ties) x = MathF.Round(x * 2) / 2;
                row[d] = x + shift;
            }
            // Padding must never be read: poison it.
            batch.Values.AsSpan(i * batch.Stride + shape.Columns, batch.Stride - shape.Columns).Fill(float.NaN);
            batch.Confidences[i] = 0.05 + random.NextDouble();

            if (shape.Mask)
            {
                var mask = batch.MaskRow(i);
                var empty = shape.Rows > 2 && i == shape.Rows - 1;
                for (var d = 0; d < shape.Columns; d++) mask[d] = (byte)(!empty && random.NextDouble() >= 0.25 ? 1 : 0);
            }
            if (shape.NonFinite && i % 3 == 1)
            {
                var d = random.Next(shape.Columns);
                row[d] = (i % 2 == 0) ? float.PositiveInfinity : float.NaN;
            }
        }
        batch.MarkChanged();
        return batch;
    }

    /// <summary>The rows step 1 keeps: at least one present cell, no non-finite present cell.</summary>
    public static int[] EligibleRows(DomainBatch batch) =>
        ColumnReference.Scan(batch).Select((s, i) => (s, i)).Where(x => x.s.PresentCells > 0 && !x.s.HasNonFinite).Select(x => x.i).ToArray();

    /// <summary>Normalised confidence weights of <paramref name="rows"/>, or exactly equal ones.</summary>
    public static double[] Weights(DomainBatch batch, int[] rows, bool uniform)
    {
        var w = rows.Select(r => uniform ? 1.0 : batch.Confidences[r]).ToArray();
        var sum = w.Sum();
        return w.Select(x => x / sum).ToArray();
    }

    public static float[] Prior(int columns, int seed)
    {
        var random = new Random(seed ^ 0x5bd1e995);
        // About one cell in ten is NaN: a key the prior lacks.
        return Enumerable.Range(0, columns).Select(_ => random.Next(10) == 0 ? float.NaN : (float)(random.NextDouble() * 2 - 1)).ToArray();
    }
}
