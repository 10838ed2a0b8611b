using Meta.Gpu.Kernels;
using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>The rows of <c>meta-gpu devices</c> (DESIGN §13, §15) on a machine whose first GPU failed to start, whose
/// second could not have its memory read, with a third GPU and an OpenCL device besides: only the one device <c>auto</c>
/// picks is marked (not every usable device of its kind), an unusable one says why, and a GPU whose memory in use is
/// unknown still shows the total the listing gives.</summary>
public sealed class DeviceSurveyRowTests
{
    [Fact]
    public void Only_the_picked_gpu_is_marked_an_unusable_one_says_why_and_unread_memory_keeps_the_listed_total()
    {
        var busy = new DeviceInfo(DeviceKind.Cuda, 0, "GPU0", 80L << 30, false, "failed to start: device busy");
        var unread = new DeviceInfo(DeviceKind.Cuda, 1, "GPU1", 40L << 30, true, null);
        var spare = new DeviceInfo(DeviceKind.Cuda, 2, "GPU2", 40L << 30, true, null);
        var opencl = new DeviceInfo(DeviceKind.OpenCL, 0, "Radeon", 16L << 30, true, null);
        var survey = DeviceSurvey.Build([busy, unread, spare, opencl],
            new Dictionary<int, (string?, DeviceMemorySample?)>
            {
                [0] = ("9.0", null), [1] = ("8.0", null), [2] = ("8.0", DeviceMemorySample.FromBytes(1L << 30, 40L << 30)),
            },
            DeviceMemorySample.FromBytes(4L << 30, 64L << 30), "Xeon", "/proc/meminfo");

        Assert.Same(unread, survey.Auto.Device);
        Assert.Equal(["cuda", "cuda", "cuda", "opencl", "cpu"], survey.Devices.Select(d => d.Kind).ToArray());
        Assert.Equal([false, true, false, false, false], survey.Devices.Select(d => d.ChosenByAuto).ToArray());
        var (first, second) = (survey.Devices[0], survey.Devices[1]);

        Assert.False(first.ChosenByAuto);
        Assert.Equal("failed to start: device busy", first.Note);
        Assert.Equal(80L << 30, first.MemoryTotalBytes);

        Assert.True(second.ChosenByAuto);
        Assert.Null(second.MemoryUsedBytes);
        Assert.Equal(40L << 30, second.MemoryTotalBytes);
        Assert.Equal("8.0", second.ComputeCapability);
        Assert.Equal("memory in use unknown", second.Note);
        Assert.Equal(1L << 30, survey.Devices[2].MemoryUsedBytes);
    }
}
