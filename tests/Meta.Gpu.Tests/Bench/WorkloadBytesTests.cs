using BenchmarkDotNet.Running;
using Meta.Gpu.Benchmarks;

namespace Meta.Gpu.Tests.Bench;

/// <summary>The BenchmarkDotNet suite's GB/s column counts the bytes each case reads (DESIGN §13: the batch it reads).</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class WorkloadBytesTests
{
    [Fact]
    public void The_matrix_reptile_step_counts_its_one_row_not_the_whole_batch()
    {
        var cases = BenchmarkConverter.TypeToBenchmarks(typeof(AggregationMatrix)).BenchmarksCases;
        var cell = new MatrixCase("cpu", 64, 1 << 16);
        BenchmarkCase Case(string workload) => cases.Single(c =>
            WorkloadBytes.Workload(c) == workload && c.Parameters.Items.Any(p => p.Value is MatrixCase m && m == cell));

        // ReptileStep steps the prior with a one-row batch (row 0): D x 4 bytes, as meta-gpu bench's reptile_step
        // counts. Before, it counted the whole 64 x 65,536 batch: its GB/s and share of read 64 times too high.
        Assert.Equal((long)cell.D * sizeof(float), WorkloadBytes.Of(Case("reptile_step")));
        Assert.Equal((long)cell.N * cell.D * sizeof(float), WorkloadBytes.Of(Case("fused_trimmed_mean_reptile")));
        Assert.Equal((long)cell.N * cell.D * sizeof(float), WorkloadBytes.Of(Case("trimmed_mean")));
    }
}
