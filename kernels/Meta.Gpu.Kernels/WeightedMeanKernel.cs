using ILGPU;

namespace Meta.Gpu.Kernels;

/// <summary>
/// The weighted mean (and the fused Reptile step) of a batch without a mask in one read of each cell, one thread
/// per column: every cell takes part, so each row's share q_k = p_k / (p summed in row order) is the same in every
/// column and comes from the host, where <see cref="CombineKernel"/> reads the column twice (its count of present
/// cells and weight sum, then the sum) and divides once per cell.
/// </summary>
/// <remarks>Same value as <see cref="CombineKernel"/>, bit for bit: the same shares and the same row-order sums. A
/// non-finite cell is counted as there; a NaN cell makes the column NaN (q x is NaN), as there.</remarks>
public static class WeightedMeanKernel
{
    /// <summary>Index = column; <paramref name="shares"/>[k] = q of listed row k.</summary>
    public static void Run(
        Index1D column, DenseMatrix matrix, ArrayView<int> rows, ArrayView<double> shares, CombineSettings settings,
        ArrayView<float> aggregate, ArrayView<float> prior, ArrayView<int> counts)
    {
        var sum = 0.0;
        var shareSum = 0.0;
        // x - x is 0 for every finite x, NaN for NaN and the infinities: the sum is NaN once any cell is not finite.
        var check = 0f;
        var n = settings.RowCount;
        var k = 0;
        // Four loads before any use of them: a warp stalls at the first instruction that needs a value in flight.
        for (; k + 4 <= n; k += 4)
        {
            var x0 = matrix.Value(rows[k], column);
            var x1 = matrix.Value(rows[k + 1], column);
            var x2 = matrix.Value(rows[k + 2], column);
            var x3 = matrix.Value(rows[k + 3], column);
            check += (x0 - x0) + (x1 - x1) + (x2 - x2) + (x3 - x3);
            Add(ref sum, ref shareSum, shares[k], x0);
            Add(ref sum, ref shareSum, shares[k + 1], x1);
            Add(ref sum, ref shareSum, shares[k + 2], x2);
            Add(ref sum, ref shareSum, shares[k + 3], x3);
        }
        for (; k < n; k++)
        {
            var x = matrix.Value(rows[k], column);
            check += x - x;
            Add(ref sum, ref shareSum, shares[k], x);
        }
        CombineKernel.Finish(column, sum / shareSum, float.IsNaN(check), settings, aggregate, prior, counts);
    }

    /// <summary>One row's term, in row order as <see cref="CombineKernel"/> adds them.</summary>
    private static void Add(ref double sum, ref double shareSum, double q, float x)
    {
        sum += q * x;
        shareSum += q;
    }
}
