using ILGPU;
using ILGPU.Runtime;
using Meta.Gpu.Compute;

namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The device read stream on ilgpu-cpu (the kernels the GPU runs, at a small size): the measurement's figures and
/// its check of the device's total against the data.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class DeviceBandwidthTests(IlgpuCpuFixture fixture)
{
    [Fact]
    public void Measure_ReportsPositiveFiguresForTheBackendsDevice()
    {
        var m = DeviceBandwidth.Measure(fixture.Backend, megabytes: 4, repeats: 2);
        Assert.True(double.IsFinite(m.ReadGbs) && m.ReadGbs > 0, $"read {m.ReadGbs}");
        Assert.True(double.IsFinite(m.CopyGbs) && m.CopyGbs > 0, $"copy {m.CopyGbs}");
        Assert.Equal(4, m.Megabytes);
        Assert.Equal(fixture.Backend.DeviceName, m.DeviceName);
        // The backend is still usable after the measurement.
        var scans = new RowScan[1];
        var batch = new DomainBatch(1, 3);
        fixture.Backend.ScanRows(batch, scans);
        Assert.Equal(new RowScan(3, false), scans[0]);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(DeviceBandwidth.MaxMegabytes + 1, 5)]
    [InlineData(4, 0)]
    public void Measure_RejectsSizesAndRepeatsOutOfRange(int megabytes, int repeats)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DeviceBandwidth.Measure(fixture.Backend, megabytes, repeats));
        Assert.Equal(megabytes is < 1 or > DeviceBandwidth.MaxMegabytes ? "megabytes" : "repeats", e.ParamName);
    }

    /// <summary>The kernel over sizes that leave a tail after the four-wide loop, at thread counts that do not
    /// divide them: the device's total is the data's, exactly; one element short is caught.</summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1_000_003, 37)]
    [InlineData(262_144, 64)]
    [InlineData(65_537, 1024)]
    public void ReadStream_SumsEveryElementOnce(int floats, int threads)
    {
        using var device = KernelAccelerator.TryCreate(DeviceKind.IlgpuCpu) ?? throw new InvalidOperationException("ILGPU's CPU accelerator is missing");
        var accelerator = device.Accelerator;
        var read = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(ReadStreamKernel.Run);
        var fill = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>>(ReadStreamKernel.Fill);
        using var values = accelerator.Allocate1D<float>(floats);
        using var partials = accelerator.Allocate1D<float>(threads);
        var stream = accelerator.DefaultStream;
        fill(threads, threads, values.View);
        read(threads, values.View, partials.View);
        var host = new float[threads];
        Copy.ToHost(stream, partials.View, host);
        var expected = DeviceBandwidth.ExpectedSum(floats);
        DeviceBandwidth.CheckTotal(host.Sum(p => (double)p), expected, "whole array");

        // A stream that misses the last element must not pass.
        if (floats < 2) return;
        read(threads, values.View.SubView(0, floats - 1), partials.View);
        Copy.ToHost(stream, partials.View, host);
        var oneShort = host.Sum(p => (double)p);
        Assert.Throws<InvalidOperationException>(() => DeviceBandwidth.CheckTotal(oneShort, expected, "one short"));
    }

    [Fact]
    public void ExpectedSum_IsThePatternsSum()
    {
        var running = 0.0;
        for (var count = 0; count <= 100; count++)
        {
            Assert.Equal(running, DeviceBandwidth.ExpectedSum(count));
            running += ReadStreamKernel.Pattern(count);
        }
        // 1 GB of floats: 2^28 = 7 x 38,347,922 + 2.
        Assert.Equal(28.0 * 38_347_922 + 3, DeviceBandwidth.ExpectedSum(1L << 28));
    }

    [Fact]
    public void CheckTotal_AcceptsOnlyTheExactTotal()
    {
        DeviceBandwidth.CheckTotal(1e9, 1e9, "equal");
        var e = Assert.Throws<InvalidOperationException>(() => DeviceBandwidth.CheckTotal(1e9 - 1, 1e9, "read pass 3"));
        Assert.StartsWith("read pass 3: the device summed 999999999", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => DeviceBandwidth.CheckTotal(0, 1e9, "zeros"));
        Assert.Throws<InvalidOperationException>(() => DeviceBandwidth.CheckTotal(double.NaN, 1e9, "nan"));
    }

    [Fact]
    public void ReadThreads_FillTheDeviceAndKeepEachThreadsSumExact()
    {
        // An H100: 132 multiprocessors x 2048 threads, over 1 GB of floats.
        Assert.Equal(132 * 2048, DeviceBandwidth.ReadThreads(1L << 28, 132, 2048));
        // Few threads on a huge array: more threads, so none adds over 2^20 floats (7 x 2^20 < 2^24).
        Assert.Equal(1 << 10, DeviceBandwidth.ReadThreads(1L << 30, 4, 16));
        // Never more threads than floats.
        Assert.Equal(5, DeviceBandwidth.ReadThreads(5, 132, 2048));
    }
}
