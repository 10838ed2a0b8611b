using Meta.Gpu.Compute;
using Meta.Gpu.Kernels;
using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class DeviceMemorySourcesTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public void Vram_high_is_strictly_above_the_threshold()
    {
        Assert.False(DeviceMemorySample.FromBytes(85, 100).VramHigh);
        Assert.True(DeviceMemorySample.FromBytes(86, 100).VramHigh);
        Assert.False(DeviceMemorySample.FromBytes(90, 100, vramHighThreshold: 0.9).VramHigh);
        Assert.Equal(0.0, DeviceMemorySample.FromBytes(5, 0).VramUtil);
        Assert.Equal(1.0, DeviceMemorySample.FromBytes(150, 100).VramUtil);
        Assert.Equal(15, DeviceMemorySample.FromBytes(85, 100).FreeBytes);
    }

    [Fact]
    public void Cpu_source_reads_this_machine_sanely()
    {
        var sample = new CpuMemoryTelemetrySource().Sample();
        Assert.True(sample.TotalBytes > 0);
        Assert.InRange(sample.UsedBytes, 0, sample.TotalBytes);
        Assert.Equal((double)sample.UsedBytes / sample.TotalBytes, sample.VramUtil, 12);
        Assert.Equal(sample.VramUtil > 0.85, sample.VramHigh);
        Assert.Equal("cpu", new CpuMemoryTelemetrySource().Device);
    }

    [Fact]
    public void Cpu_source_takes_used_as_total_less_available_from_meminfo()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    2000000 kB\nBuffers:  10 kB\n");
            var sample = new CpuMemoryTelemetrySource(path, 0.85).Sample();
            Assert.Equal(16000000L * 1024, sample.TotalBytes);
            Assert.Equal(14000000L * 1024, sample.UsedBytes);
            Assert.Equal(0.875, sample.VramUtil, 12);
            Assert.True(sample.VramHigh);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Cpu_source_falls_back_to_the_gc_without_usable_meminfo()
    {
        var gc = GC.GetGCMemoryInfo();
        var missing = new CpuMemoryTelemetrySource(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N")), 0.85);
        Assert.Equal("gc", missing.Origin);
        Assert.Equal(gc.TotalAvailableMemoryBytes, missing.Sample().TotalBytes);

        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "MemTotal:       16000000 kB\n"); // no MemAvailable (very old kernels)
            Assert.Equal(gc.TotalAvailableMemoryBytes, new CpuMemoryTelemetrySource(path, 0.85).Sample().TotalBytes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Cuda_source_takes_used_as_total_less_the_drivers_free()
    {
        var free = 20 * GiB;
        var owned = new Disposal();
        var source = new CudaMemoryTelemetrySource("cuda:0 test", () => (free, 80 * GiB), 0.85, owned);
        var sample = source.Sample();
        Assert.Equal(60 * GiB, sample.UsedBytes);
        Assert.Equal(80 * GiB, sample.TotalBytes);
        Assert.Equal(0.75, sample.VramUtil, 12);
        Assert.False(sample.VramHigh);

        free = 8 * GiB;
        Assert.True(source.Sample().VramHigh);

        free = -1;
        Assert.Throws<InvalidOperationException>(() => source.Sample());

        source.Dispose();
        source.Dispose();
        Assert.Equal(1, owned.Count);
        Assert.Throws<ObjectDisposedException>(() => source.Sample());
    }

    [Fact]
    public void Cuda_source_opens_the_first_gpu_when_there_is_one()
    {
        var hasCuda = KernelAccelerator.ListDevices().Any(d => d.Kind == DeviceKind.Cuda);
        using var source = CudaMemoryTelemetrySource.TryOpen();
        if (!hasCuda)
        {
            Assert.Null(source);
            return;
        }
        Assert.NotNull(source);
        var sample = source.Sample();
        Assert.True(sample.TotalBytes > 0);
        // A CUDA context of its own takes device memory, so something is in use.
        Assert.InRange(sample.UsedBytes, 1, sample.TotalBytes);
    }

    [Fact]
    public void OpenCl_source_counts_the_engines_allocations_against_the_device_total()
    {
        var allocations = new FixedAllocations { BytesHeld = 3 * GiB };
        var source = new OpenClMemoryTelemetrySource("opencl:0 test", 4 * GiB, allocations);
        Assert.Equal(0.75, source.Sample().VramUtil, 12);
        allocations.BytesHeld = 4 * GiB - 1;
        Assert.True(source.Sample().VramHigh);
        allocations.BytesHeld = 5 * GiB;
        Assert.Equal(4 * GiB, source.Sample().UsedBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenClMemoryTelemetrySource("x", 0, allocations));
    }

    [Fact]
    public void Ilgpu_backend_reports_what_it_holds_to_the_ledger_and_gives_it_back()
    {
        var ledger = DeviceAllocationLedger.For(DeviceKind.IlgpuCpu);
        var backend = IlgpuBackend.TryCreate("ilgpu-cpu");
        Assert.NotNull(backend);
        var batch = new DomainBatch(4, 256);
        var scans = new RowScan[4];
        backend.ScanRows(batch, scans);
        var held = backend.DeviceBytesHeld;
        Assert.True(held >= 4 * 256 * sizeof(float), $"held {held}");
        Assert.True(ledger.BytesHeld >= held);
        backend.Dispose();
        Assert.Equal(0, backend.DeviceBytesHeld);
    }

    [Fact]
    public void Ledger_sums_what_backends_record_and_never_reads_negative()
    {
        var ledger = new DeviceAllocationLedger();
        ledger.Record(100);
        ledger.Record(50);
        ledger.Record(-100);
        Assert.Equal(50, ledger.BytesHeld);
        ledger.Record(-80);
        Assert.Equal(0, ledger.BytesHeld);
    }

    [Fact]
    public void Factory_builds_cached_sources_by_backend_name()
    {
        using var cpu = DeviceTelemetry.ForBackend("cpu");
        Assert.IsType<CpuMemoryTelemetrySource>(cpu.Inner);
        using var ilgpuCpu = DeviceTelemetry.ForBackend("ilgpu-cpu", 0.9, TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(2), ilgpuCpu.MinInterval);
        Assert.Throws<InvalidInputException>(() => DeviceTelemetry.ForBackend("tpu"));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeviceTelemetry.ForBackend("cpu", 1.5));

        var auto = AutoBackendChoice.Pick(KernelAccelerator.ListDevices()).Backend;
        using var picked = DeviceTelemetry.ForBackend("auto");
        Assert.StartsWith(auto, picked.Device, StringComparison.Ordinal);
        if (auto == "cpu")
        {
            var e = Assert.Throws<InvalidInputException>(() => DeviceTelemetry.ForBackend("cuda"));
            Assert.Contains("no CUDA device", e.Message, StringComparison.Ordinal);
        }
    }

    private sealed class Disposal : IDisposable
    {
        public int Count { get; private set; }

        public void Dispose() => Count++;
    }

    private sealed class FixedAllocations : IDeviceAllocations
    {
        public long BytesHeld { get; set; }
    }
}
