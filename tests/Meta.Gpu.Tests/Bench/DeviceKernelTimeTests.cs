using System.Text.Json;
using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Compute;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Tests.Bench;

/// <summary>Device rows' kernel-alone times, the baseline switch, and the issue's GPU size.</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class DeviceKernelTimeTests
{
    [Fact]
    public void KernelTimesAreTheMedianOfTheTimedCalls_WithTheRowsReference()
    {
        var reference = new ReadReference("cuda", 4000);
        var row = BenchResult.Timed("fused_trimmed_mean_reptile", "cuda", 256, 1 << 22, [15.0, 16.0, 14.0], 4L << 30, reference)
            .WithKernelTimes([8.0, 7.0, 9.0], 4L << 30, reference);
        Assert.Equal(8.0, row.KernelMedianMs);
        Assert.Equal((4L << 30) / 8e-3 / 1e9, row.KernelGbs!.Value, 6);
        Assert.Equal(row.KernelGbs!.Value / 4000, row.KernelShareOfRead!.Value, 12);
        // The round's own figures are untouched.
        Assert.Equal(15.0, row.MedianMs);

        var json = JsonSerializer.Serialize(row, WireJson.Indented);
        Assert.Contains("\"kernel_median_ms\": 8", json, StringComparison.Ordinal);
        var md = BenchOutputs.Markdown(new BenchReport(new MachineInfo("Test CPU", 2, "avx2", "NVIDIA H200"), 20, 20, [row]));
        Assert.Contains("kernels alone 8.000 ms", md, StringComparison.Ordinal);
    }

    [Fact]
    public void AHostRowHasNoKernelTime()
    {
        var row = BenchResult.Timed("trimmed_mean", "cpu", 64, 1 << 20, [20.0], 256L << 20, 20.0).WithKernelTimes([], 256L << 20, null);
        Assert.Null(row.KernelMedianMs);
        Assert.Null(row.KernelShareOfRead);
    }

    [Fact]
    public void ADeviceWorkloadRecordsItsKernelTimePerRound_AndTheBaselineSwitchReachesTheDevice()
    {
        var data = new BenchData(8, 300);
        foreach (var baseline in new[] { false, true })
        {
            var (backend, reason) = EngineBackends.TryCreate("ilgpu-cpu", baseline);
            Assert.True(backend is not null, reason);
            using (backend)
            {
                var device = EngineBackends.Device(backend)!;
                Assert.Equal(!baseline, device.DenseKernels);
                var workload = new DenseWorkload(BenchWorkloads.WeightedMean, backend, data, new BenchOptions());
                var before = device.DenseCombines;
                workload.Run();
                workload.Run();
                Assert.Equal(2, workload.KernelMs.Count);
                Assert.All(workload.KernelMs, ms => Assert.True(ms > 0));
                Assert.Equal(baseline ? before : before + 2, device.DenseCombines);
            }
        }
        using var cpu = ComputeBackends.Create("cpu");
        var host = new DenseWorkload(BenchWorkloads.WeightedMean, cpu, data, new BenchOptions());
        host.Run();
        Assert.Empty(host.KernelMs);
    }

    [Fact]
    public void ADeviceStepWorkloadKeepsItsPriorResident_AndTheRowSaysSo()
    {
        var data = new BenchData(8, 300);
        var (backend, reason) = EngineBackends.TryCreate("ilgpu-cpu", false);
        Assert.True(backend is not null, reason);
        using (backend)
        {
            var workload = new DenseWorkload(BenchWorkloads.FusedTrimmedMeanReptile, backend, data, new BenchOptions());
            for (var i = 0; i < 4; i++) workload.Run();
            Assert.Equal([1, 0, 0, 0], workload.PriorUploads);
        }
        var row = BenchResult.Timed("fused_trimmed_mean_reptile", "cuda", 256, 1 << 22, [15.0, 16.0, 14.0], 4L << 30, new ReadReference("cuda", 4000))
            with { PriorUploads = 0 };
        Assert.Contains("\"prior_uploads\": 0", JsonSerializer.Serialize(row, WireJson.Indented), StringComparison.Ordinal);
        var md = BenchOutputs.Markdown(new BenchReport(new MachineInfo("Test CPU", 2, "avx2", "NVIDIA H200"), 20, 20, [row]));
        Assert.Contains("prior uploaded 0 times in 3 calls", md, StringComparison.Ordinal);

        using var cpu = ComputeBackends.Create("cpu");
        var host = new DenseWorkload(BenchWorkloads.FusedTrimmedMeanReptile, cpu, data, new BenchOptions());
        host.Run();
        Assert.Empty(host.PriorUploads);
    }

    [Fact]
    public void TheIssuesGpuSizeIsAccepted_UpToTheBatchsRealLimit()
    {
        const int d = 4 * 1024 * 1024;
        new BenchOptions { N = 256, D = d }.Validated();
        // The limit is one array of N padded rows (an earlier bound of int.MaxValue / 2 cells refused 256 x 4M).
        var most = (int)(Array.MaxLength / DomainBatch.ChooseStride(d));
        new BenchOptions { N = most, D = d }.Validated();
        var e = Assert.Throws<InvalidInputException>(() => new BenchOptions { N = most + 1, D = d }.Validated());
        Assert.Contains("--n x --d", e.Message, StringComparison.Ordinal);
    }
}
