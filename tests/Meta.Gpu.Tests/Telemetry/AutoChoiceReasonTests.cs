using Meta.Gpu.Kernels;
using Meta.Gpu.Telemetry;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>The reason <see cref="AutoBackendChoice"/> gives (the last line of <c>meta-gpu devices</c>).</summary>
public sealed class AutoChoiceReasonTests
{
    // With the first GPU failing to start (busy in exclusive-process mode), the reason read "auto picks cuda: GPU1 is
    // the first CUDA device (...)": GPU1 is not the first, and why the first was passed over went unsaid, while the
    // same pass-over of a whole kind ("no usable CUDA device (GPU0: ...)") is spelled out.
    [Fact]
    public void A_pick_past_an_unusable_device_of_the_same_kind_says_which_and_why()
    {
        var first = new DeviceInfo(DeviceKind.Cuda, 0, "GPU0", 80L << 30, false, "failed to start: device busy");
        var second = new DeviceInfo(DeviceKind.Cuda, 1, "GPU1", 80L << 30, true, null);

        var choice = AutoBackendChoice.Pick([first, second]);

        Assert.Same(second, choice.Device);
        Assert.DoesNotContain("GPU1 is the first CUDA device", choice.Reason, StringComparison.Ordinal);
        Assert.Contains("GPU1 is the first usable CUDA device", choice.Reason, StringComparison.Ordinal);
        Assert.Contains("GPU0: failed to start: device busy", choice.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_device_of_another_kind_listed_before_the_pick_is_not_said_to_be_passed_over()
    {
        // Only unusable devices of the picked kind are passed over: an OpenCL device listed first was not.
        var opencl = new DeviceInfo(DeviceKind.OpenCL, 0, "iGPU", 8L << 30, true, null);
        var cuda = new DeviceInfo(DeviceKind.Cuda, 0, "GPU0", 80L << 30, true, null);

        var choice = AutoBackendChoice.Pick([opencl, cuda]);

        Assert.Equal("cuda", choice.Backend);
        Assert.Same(cuda, choice.Device);
        Assert.Equal("auto picks cuda: GPU0 is the first CUDA device (cuda before opencl before cpu)", choice.Reason);
    }

    // The line a laptop shows: every kind auto tries, in its order, said absent, and ilgpu-cpu said never picked.
    [Fact]
    public void Without_a_gpu_the_reason_names_each_kind_tried_in_order_and_never_ilgpu_cpu()
    {
        var ilgpuCpu = new DeviceInfo(DeviceKind.IlgpuCpu, 0, "CPUAccelerator", 0, true, null);

        var choice = AutoBackendChoice.Pick([ilgpuCpu]);

        Assert.Equal("cpu", choice.Backend);
        Assert.Null(choice.Device);
        Assert.Equal("auto picks cpu: no CUDA device and no OpenCL device; ilgpu-cpu is for tests and never picked", choice.Reason);
    }
}
