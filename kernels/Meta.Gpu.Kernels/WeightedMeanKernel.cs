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
        for (var k = 0; k < settings.RowCount; k++)
        {
            var x = matrix.Values[(long)rows[k] * matrix.Stride + column];
            check += x - x;
            var q = shares[k];
            sum += q * x;
            shareSum += q;
        }
        CombineKernel.Finish(column, sum / shareSum, float.IsNaN(check), settings, aggregate, prior, counts);
    }
}
