using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Bench;

/// <summary>Which read bandwidth each row's share of read divides by, and the device figures the bench reports.</summary>
[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class ReadReferenceTests
{
    private const double Host = 20.0;

    private static DeviceBandwidthFigure Figure(double read) => new("NVIDIA H100 80GB HBM3", read, read * 0.9, 1024, DeviceBandwidthProbe.EngineMethod);

    private static SortedDictionary<string, DeviceBandwidthFigure> Devices(params (string Name, DeviceBandwidthFigure Figure)[] entries)
    {
        var devices = new SortedDictionary<string, DeviceBandwidthFigure>(StringComparer.Ordinal);
        foreach (var (name, figure) in entries) devices[name] = figure;
        return devices;
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    [InlineData("numpy")]
    [InlineData("torchsharp")]
    public void HostRowsDivideByTheHostFigureEvenBesideADevice(string backend) =>
        Assert.Equal(new ReadReference("host", Host), ReadReference.For(backend, Host, Devices(("cuda", Figure(3000)))));

    [Theory]
    [InlineData("cuda")]
    [InlineData("opencl")]
    public void DeviceRowsDivideByTheirOwnDevice(string backend)
    {
        var devices = Devices(("cuda", Figure(3000)), ("opencl", Figure(900)));
        Assert.Equal(new ReadReference(backend, backend == "cuda" ? 3000 : 900), ReadReference.For(backend, Host, devices));
    }

    [Fact]
    public void ADeviceRowWithoutAUsableFigureHasNoReferenceNotTheHosts()
    {
        Assert.Null(ReadReference.For("cuda", Host, Devices()));
        var failed = DeviceBandwidthFigure.Failure("NVIDIA H100", DeviceBandwidthProbe.EngineMethod, "read pass 1: the device summed 0");
        Assert.Null(ReadReference.For("cuda", Host, Devices(("cuda", failed))));
    }

    [Fact]
    public void PyTorchRowsPreferTheEnginesCudaFigureThenTheirOwn()
    {
        var own = new DeviceBandwidthFigure("NVIDIA H100", 2500, 2000, 256, DeviceBandwidthProbe.PeerMethod);
        Assert.Equal(new ReadReference("cuda", 3000), ReadReference.For("pytorch", Host, Devices(("cuda", Figure(3000)), ("pytorch", own))));
        Assert.Equal(new ReadReference("pytorch", 2500), ReadReference.For("pytorch", Host, Devices(("pytorch", own))));
        // An OpenCL device may be another device: not the GPU torch runs on.
        Assert.Equal(new ReadReference("pytorch", 2500), ReadReference.For("pytorch", Host, Devices(("opencl", Figure(900)), ("pytorch", own))));
        Assert.Null(ReadReference.For("pytorch", Host, Devices()));
    }

    [Fact]
    public void ATimedRowsShareIsOfItsReferenceAndNamesIt()
    {
        // 64 MB in 0.1 ms: 671 GB/s.
        var row = BenchResult.Timed("trimmed_mean", "cuda", 16, 1 << 20, [0.1, 0.1, 0.1], 64L << 20, new ReadReference("cuda", 3000));
        Assert.Equal((64L << 20) / 1e-4 / 1e9, row.Gbs!.Value, 6);
        Assert.Equal(row.Gbs!.Value / 3000, row.ShareOfRead!.Value, 12);
        Assert.Equal("cuda", row.ReadReference);

        var none = BenchResult.Timed("trimmed_mean", "cuda", 16, 1 << 20, [0.1], 64L << 20, reference: null);
        Assert.NotNull(none.Gbs);
        Assert.Null(none.ShareOfRead);
        Assert.Null(none.ReadReference);

        var host = BenchResult.Timed("trimmed_mean", "cpu", 16, 1 << 20, [10.0], 64L << 20, Host);
        Assert.Equal("host", host.ReadReference);
        Assert.Equal(host.Gbs!.Value / Host, host.ShareOfRead!.Value, 12);
    }

    [Fact]
    public void TheMarkdownGivesEachDevicesFiguresAndEachRowsReference()
    {
        var machine = new MachineInfo("Test CPU", 2, "avx2", "NVIDIA H100 80GB HBM3");
        var cuda = BenchResult.Timed("trimmed_mean", "cuda", 64, 1 << 20, [0.5], 256L << 20, new ReadReference("cuda", 3000));
        var cpu = BenchResult.Timed("trimmed_mean", "cpu", 64, 1 << 20, [50.0], 256L << 20, Host);
        var report = new BenchReport(machine, Host, 15, [cuda, cpu])
        {
            DeviceBandwidth = Devices(("cuda", Figure(3000)), ("opencl", DeviceBandwidthFigure.Failure("Intel GPU", DeviceBandwidthProbe.EngineMethod, "needs 2048 MB"))),
        };
        var md = BenchOutputs.Markdown(report);
        Assert.Contains("- cuda device bandwidth (NVIDIA H100 80GB HBM3): read 3000.0 GB/s, copy 2700.0 GB/s (read + written); 1024 MB float32;", md, StringComparison.Ordinal);
        Assert.Contains("Reference of the share of read of: cuda.", md, StringComparison.Ordinal);
        Assert.Contains("- opencl device bandwidth (Intel GPU): not measured: needs 2048 MB.", md, StringComparison.Ordinal);
        Assert.Contains("| share of read | read ref |", md, StringComparison.Ordinal);
        Assert.Contains("| cuda | 64 | 1048576 | 0.500 |", md, StringComparison.Ordinal);
        var cudaLine = md.Split('\n').Single(l => l.StartsWith("| trimmed_mean | cuda |", StringComparison.Ordinal));
        Assert.Contains("| 18% | cuda |", cudaLine, StringComparison.Ordinal); // 536.9 GB/s of 3000
        var cpuLine = md.Split('\n').Single(l => l.StartsWith("| trimmed_mean | cpu |", StringComparison.Ordinal));
        Assert.Contains("| 27% | host |", cpuLine, StringComparison.Ordinal); // 5.4 GB/s of 20
    }

    [Fact]
    public void BenchJsonCarriesEachDevicesFigures()
    {
        var machine = new MachineInfo("Test CPU", 2, "avx2", "NVIDIA H100 80GB HBM3");
        var cuda = BenchResult.Timed("median", "cuda", 64, 1 << 20, [1.0], 256L << 20, new ReadReference("cuda", 3000));
        var report = new BenchReport(machine, Host, 15, [cuda]) { DeviceBandwidth = Devices(("cuda", Figure(3000))) };
        var json = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(report, Meta.Gpu.Serialization.WireJson.Indented))!;
        var entry = json["device_bandwidth"]!["cuda"]!.AsObject();
        Assert.Equal(["copy_gbs", "device", "failed", "megabytes", "method", "read_gbs"], entry.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("NVIDIA H100 80GB HBM3", entry["device"]!.GetValue<string>());
        Assert.Equal(3000, entry["read_gbs"]!.GetValue<double>());
        Assert.Equal(1024, entry["megabytes"]!.GetValue<double>());
        Assert.Equal("cuda", json["results"]![0]!["read_reference"]!.GetValue<string>());
        Assert.Equal(Host, json["read_bandwidth_gbs"]!.GetValue<double>());
    }

    [Fact]
    public void TheProbeReportsWhyABackendHasNoDeviceFigure()
    {
        using var cpu = ComputeBackends.Create("cpu");
        var figure = DeviceBandwidthProbe.Measure(cpu, 4, 1);
        Assert.False(figure.Usable);
        Assert.Equal("cpu is not an ILGPU device backend", figure.Failed);
        Assert.True(DeviceBandwidthProbe.Measures("cuda"));
        Assert.True(DeviceBandwidthProbe.Measures("opencl"));
        Assert.False(DeviceBandwidthProbe.Measures("ilgpu-cpu"));
        Assert.False(DeviceBandwidthProbe.Measures("cpu"));
    }

    [Fact]
    public void TheProbeMeasuresAnIlgpuBackendThroughItsFallbackWrapper()
    {
        // The CUDA path on ILGPU's CPU accelerator: the registry hands out device backends wrapped in the CPU fallback.
        using var backend = ComputeBackends.Create("ilgpu-cpu");
        var figure = DeviceBandwidthProbe.Measure(backend, 4, 1);
        Assert.True(figure.Usable, figure.Failed);
        Assert.True(figure.CopyGbs > 0);
        Assert.Equal(4.0, figure.Megabytes);
    }

    [Fact]
    public void PeerOutputWithAndWithoutItsOwnBandwidthParses()
    {
        var current = PythonPeer.Parse("pytorch", "pytorch_peer.py",
            "{\"peer\":\"pytorch\",\"version\":\"2.5.1\",\"device\":\"NVIDIA H100\",\"read_gbs\":3100.5,\"copy_gbs\":2800,\"read_mb\":256,\"results\":{\"median\":{\"times_ms\":[1,2]}}}");
        Assert.Null(current.Skipped);
        Assert.Equal(3100.5, current.ReadGbs);
        Assert.Equal(2800, current.CopyGbs);
        Assert.Equal(256, current.ReadMegabytes);
        var figure = DeviceBandwidthProbe.FromPeer(current)!;
        Assert.Equal(new DeviceBandwidthFigure("NVIDIA H100", 3100.5, 2800, 256, DeviceBandwidthProbe.PeerMethod), figure);

        var older = PythonPeer.Parse("pytorch", "pytorch_peer.py",
            "{\"peer\":\"pytorch\",\"version\":\"2.1\",\"device\":\"NVIDIA H100\",\"results\":{\"median\":{\"times_ms\":[1,2]}}}");
        Assert.Null(older.Skipped);
        Assert.Equal([1.0, 2.0], older.Results["median"].TimesMs);
        Assert.Null(older.ReadGbs);
        Assert.Null(older.CopyGbs);
        Assert.Null(DeviceBandwidthProbe.FromPeer(older));

        // A figure that is not a finite positive number is no figure.
        var odd = PythonPeer.Parse("pytorch", "pytorch_peer.py",
            "{\"version\":\"2.5\",\"read_gbs\":\"fast\",\"copy_gbs\":-1,\"bandwidth_skipped\":\"RuntimeError: out of memory\",\"results\":{}}");
        Assert.Null(odd.ReadGbs);
        Assert.Null(odd.CopyGbs);
        Assert.Equal("RuntimeError: out of memory", odd.BandwidthSkipped);
        Assert.Null(current.BandwidthSkipped);
        Assert.Null(DeviceBandwidthProbe.FromPeer(odd));
    }
}
