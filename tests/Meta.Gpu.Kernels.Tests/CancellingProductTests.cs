using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// Two domains of one weight that send +M and -M (M near 1e13 to 1e14) cancel exactly in the float64 reference, whose
/// every product is rounded before it is added. A device that fuses a product into the running sum (one rounding:
/// ptxas does so with ILGPU's plain PTX unless <see cref="RoundedPtx"/> forbids it) is left with the product's
/// rounding error, up to a few thousandths, where the third domain's value alone should remain. Each check also
/// asserts that the fused sum would miss the tolerance on these columns, so the data stays able to tell.
/// The CUDA and OpenCL runs are in <see cref="GpuDeviceTests"/>.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class CancellingProductTests(IlgpuCpuFixture fixture)
{
    [Fact]
    public void Ilgpu_cpu_rounds_each_product_as_the_reference_does()
    {
        fixture.Backend.ChunkColumns = null;
        fixture.Backend.DenseKernels = true;
        AgreeWithUnfusedProducts(fixture.Backend);
    }

    [Fact]
    public void Cpu_rounds_each_product_as_the_reference_does()
    {
        using var backend = new CpuBackend();
        AgreeWithUnfusedProducts(backend);
    }

    /// <summary>Mean and trimmed mean (three rows, no trim), with and without a mask (the dense kernels and the
    /// combine kernel's walks), against the unfused float64 sum.</summary>
    internal static void AgreeWithUnfusedProducts(IComputeBackend backend)
    {
        const int columns = 1000;
        double[] weights = [0.35, 0.35, 0.3];
        foreach (var mask in new[] { false, true })
        foreach (var method in new[] { AggregationMethod.Mean, AggregationMethod.TrimmedMean })
        {
            var rng = new Random(20261129 + (mask ? 1 : 0));
            var batch = new DomainBatch(3, columns, withMask: mask);
            var expected = new double[columns];
            var fusedMisses = 0;
            for (var c = 0; c < columns; c++)
            {
                var m = (float)(1e13 + 9e13 * rng.NextDouble());
                var v = (float)(2 * rng.NextDouble() - 1);
                batch.Row(0)[c] = m;
                batch.Row(1)[c] = -m;
                batch.Row(2)[c] = v;
                var total = weights[0] + weights[1] + weights[2];
                double q0 = weights[0] / total, q1 = weights[1] / total, q2 = weights[2] / total;
                expected[c] = ((q0 * m + q1 * -m) + q2 * v) / ((q0 + q1) + q2);
                var fused = Math.FusedMultiplyAdd(q2, v, Math.FusedMultiplyAdd(q1, -m, q0 * m)) / ((q0 + q1) + q2);
                if (Math.Abs(fused - expected[c]) > 1e-4 + 1e-4 * Math.Abs(expected[c])) fusedMisses++;
            }
            if (mask)
                for (var r = 0; r < 3; r++) batch.MaskRow(r).Fill(1);
            batch.MarkChanged();
            Assert.True(fusedMisses > columns / 2, $"only {fusedMisses} of {columns} columns would show a fused product");

            var aggregate = new float[columns];
            var empty = backend.Combine(batch, [0, 1, 2], weights, method, 0.1, false, aggregate, Span<float>.Empty, null);

            Assert.Equal(0, empty);
            Tolerance.Agree(expected.Select(e => (double)(float)e).ToArray(), aggregate.Select(a => (double)a).ToArray(),
                $"{backend.Name} {method}{(mask ? " with a mask" : "")}");
        }
    }
}
