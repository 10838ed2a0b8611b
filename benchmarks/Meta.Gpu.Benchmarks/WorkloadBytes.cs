using BenchmarkDotNet.Running;

namespace Meta.Gpu.Benchmarks;

/// <summary>The bytes a benchmark case moves, for GB/s: the batch (N x D x 4) for a workload, 256 MB read for
/// the read reference, 256 MB read + 256 MB written for the copy. <see cref="AggregationMatrix"/>'s
/// <c>reptile_step</c> reads a one-row batch (row 0), so it counts D x 4, as <c>meta-gpu bench</c>'s
/// <c>reptile_step</c> does (<see cref="CpuWorkloads"/>' <c>reptile_step</c> combines the whole batch: N x D x 4; its
/// <c>reptile_step_on_aggregate</c> reads a D-long aggregate: D x 4).</summary>
public static class WorkloadBytes
{
    public static string Workload(BenchmarkCase benchmark) =>
        benchmark.Descriptor.Categories.FirstOrDefault(c => c != "bandwidth") ?? benchmark.Descriptor.WorkloadMethod.Name;

    public static long Of(BenchmarkCase benchmark)
    {
        var workload = Workload(benchmark);
        if (workload == "read_bandwidth") return ReadBandwidth.Bytes;
        if (workload == "copy_bandwidth") return 2 * ReadBandwidth.Bytes;
        foreach (var parameter in benchmark.Parameters.Items)
            if (parameter.Value is BatchShape shape) return workload == "reptile_step_on_aggregate" ? (long)shape.D * sizeof(float) : shape.Bytes;
            else if (parameter.Value is MatrixCase cell) return workload == "reptile_step" ? (long)cell.D * sizeof(float) : cell.Bytes;
        return 0;
    }

    public static string ShapeOf(BenchmarkCase benchmark) =>
        benchmark.Parameters.Items.FirstOrDefault(p => p.Value is BatchShape or MatrixCase)?.Value?.ToString()
        ?? (Of(benchmark) > 0 ? "256 MB" : "-");
}
