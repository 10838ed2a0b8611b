using System.Text.Json.Nodes;
using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Tests.Storage;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Bench;

/// <summary>The host's read stream sampled through a bench run: every host row's share of read is of the fastest
/// sample, not of whichever moment the run started in.</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class HostReadSamplesTests
{
    [Fact]
    public void Every_sample_is_kept_in_order_and_the_reference_is_the_fastest()
    {
        var reads = new HostReadSamples(1);
        Assert.Equal(0, reads.Fastest);

        var first = reads.First(1);
        var second = reads.Take(1);
        var third = reads.Take(1);

        Assert.Equal([first.ReadGbs, second, third], reads.Samples);
        Assert.All(reads.Samples, g => Assert.True(g > 0 && double.IsFinite(g), $"sample {g}"));
        Assert.Equal(Math.Max(first.ReadGbs, Math.Max(second, third)), reads.Fastest);
        Assert.True(first.CopyGbs > 0, $"copy {first.CopyGbs}");
        Assert.Equal(1, first.ArrayMegabytes);
    }

    [Fact]
    public void A_faster_later_sample_rescales_host_rows_and_leaves_device_and_unshared_rows_alone()
    {
        var host = BenchResult.Timed("trimmed_mean", "cpu", 64, 1 << 20, [10.0, 10.0, 10.0], 64L << 22, 30.0);
        var device = BenchResult.Timed("trimmed_mean", "cuda", 64, 1 << 20, [1.0], 64L << 22, new ReadReference("cuda", 4000))
            .WithKernelTimes([0.5], 64L << 22, new ReadReference("cuda", 4000));
        var governance = BenchResult.Timed("governance_update", "cpu", 1, 0, [0.001], 0, 30.0);
        var skipped = BenchResult.Skip("median", "numpy", 64, 1 << 20, "no numpy");

        var gbs = (64L << 22) / 10e-3 / 1e9;
        Assert.Equal(gbs / 30.0, host.ShareOfRead!.Value, 12);
        Assert.Equal(gbs / 50.0, host.WithHostRead(50.0).ShareOfRead!.Value, 12);
        Assert.Equal("host", host.WithHostRead(50.0).ReadReference);
        Assert.Equal(device, device.WithHostRead(50.0));
        Assert.Equal(governance, governance.WithHostRead(50.0));
        Assert.Equal(skipped, skipped.WithHostRead(50.0));
        Assert.Equal(host, host.WithHostRead(0));
        Assert.Equal(host, host.WithHostRead(double.NaN));
    }

    [Fact]
    public void A_host_row_with_kernel_times_has_its_kernel_share_rescaled_too()
    {
        // ilgpu-cpu: its kernels read host memory, so its kernel share is of the host's read stream as well.
        var row = BenchResult.Timed("trimmed_mean", "ilgpu-cpu", 64, 1 << 20, [10.0], 64L << 22, 30.0)
            .WithKernelTimes([5.0], 64L << 22, new ReadReference("host", 30.0));
        var kernelGbs = (64L << 22) / 5e-3 / 1e9;
        Assert.Equal(kernelGbs / 30.0, row.KernelShareOfRead!.Value, 12);

        var rescaled = row.WithHostRead(50.0);

        Assert.Equal(kernelGbs / 50.0, rescaled.KernelShareOfRead!.Value, 12);
        Assert.Equal(row.KernelGbs, rescaled.KernelGbs);
    }

    [Fact]
    public async Task A_run_sampled_once_reports_the_one_sample_and_speaks_of_no_samples()
    {
        // Host workloads only: no engine or peer rows, so no sample after the first.
        using var folder = new TempFolder();
        var (code, output, error) = await CliRun.RunAsync("", "bench", "--quick", "--repeats", "1", "--warmup", "0",
            "--workloads", "governance_update", "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}");

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "bench.json")))!.AsObject();
        var sample = Assert.Single(json["read_bandwidth_samples_gbs"]!.AsArray());
        Assert.Equal(sample!.GetValue<double>(), json["read_bandwidth_gbs"]!.GetValue<double>());
        Assert.DoesNotContain("sampled", output + error, StringComparison.Ordinal);
        Assert.DoesNotContain("samples", File.ReadAllText(Path.Combine(folder.Path, "bench.md")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_with_peers_samples_the_read_stream_again_after_them()
    {
        using var folder = new TempFolder();
        var python = FakePython.Write(folder, "echo '{\"version\":\"fake\",\"results\":{\"weighted_mean\":{\"times_ms\":[1.0]}}}'");
        var outDir = Path.Combine(folder.Path, "out");
        var (code, output, error) = await CliRun.RunAsync("", "bench", "--quick", "--n", "4", "--d", "64", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_mean", "--backends", "cpu,numpy", "--python", python, "--out", outDir);
        Assert.True(code == 0, $"exit {code}: {error}\n{output}");

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")))!.AsObject();
        // The start of the run, after the cpu rows, after the peers.
        Assert.Equal(3, json["read_bandwidth_samples_gbs"]!.AsArray().Count);
        Assert.Contains("read bandwidth sampled 3 times", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_reports_every_read_sample_and_divides_each_host_row_by_the_fastest()
    {
        using var folder = new TempFolder();
        var (code, output, error) = await CliRun.RunAsync("", "bench", "--quick", "--n", "8", "--d", "4096", "--repeats", "1", "--warmup", "0",
            "--workloads", "weighted_mean,trimmed_mean", "--backends", "cpu", "--out", folder.Path);
        Assert.True(code == 0, $"exit {code}: {error}");

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder.Path, "bench.json")))!.AsObject();
        var samples = json["read_bandwidth_samples_gbs"]!.AsArray().Select(g => g!.GetValue<double>()).ToList();
        // The start of the run, then after the cpu rows.
        Assert.Equal(2, samples.Count);
        var read = json["read_bandwidth_gbs"]!.GetValue<double>();
        Assert.Equal(samples.Max(), read);
        foreach (var row in json["results"]!.AsArray().Select(r => r!.AsObject()))
        {
            Assert.Equal("host", row["read_reference"]!.GetValue<string>());
            Assert.Equal(row["gbs"]!.GetValue<double>() / read, row["share_of_read"]!.GetValue<double>(), 12);
        }
        Assert.Contains("read bandwidth sampled 2 times", output, StringComparison.Ordinal);
        Assert.Contains("the fastest of 2 samples through the run", File.ReadAllText(Path.Combine(folder.Path, "bench.md")), StringComparison.Ordinal);
    }
}
