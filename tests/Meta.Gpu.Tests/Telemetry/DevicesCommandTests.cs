using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Kernels;
using Meta.Gpu.Telemetry;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Telemetry;

[Collection(Meta.Gpu.Tests.Support.IlgpuCollection.Name)]
public sealed class DevicesCommandTests
{
    private static Task<(int Code, string Out, string Error)> RunAsync(params string[] args) => CliRun.RunAsync("", args);

    [Fact]
    public async Task Devices_lists_the_cpu_and_says_what_auto_picks()
    {
        var (code, output, error) = await RunAsync("devices");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("kind", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("cpu ", StringComparison.Ordinal) && l.Contains("GiB", StringComparison.Ordinal));
        Assert.StartsWith("auto picks ", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_json_has_the_design_fields_and_one_pick()
    {
        var (code, output, _) = await RunAsync("devices", "--json");
        Assert.Equal(0, code);
        var rows = Assert.IsType<JsonArray>(JsonNode.Parse(output)).Select(n => n!.AsObject()).ToList();
        foreach (var row in rows)
            foreach (var field in new[] { "kind", "name", "memory_used_bytes", "memory_total_bytes", "compute_capability", "chosen_by_auto" })
                Assert.True(row.ContainsKey(field), $"missing {field} in {row.ToJsonString()}");
        Assert.Single(rows, r => r["chosen_by_auto"]!.GetValue<bool>());
        var cpu = Assert.Single(rows, r => r["kind"]!.GetValue<string>() == "cpu");
        Assert.Null(cpu["compute_capability"]);
        var total = cpu["memory_total_bytes"]!.GetValue<long>();
        Assert.True(total > 0);
        Assert.InRange(cpu["memory_used_bytes"]!.GetValue<long>(), 0, total);
        Assert.All(rows.Where(r => r["kind"]!.GetValue<string>() == "ilgpu-cpu"), r => Assert.False(r["chosen_by_auto"]!.GetValue<bool>()));
        var hasCuda = KernelAccelerator.ListDevices().Any(d => d is { Kind: DeviceKind.Cuda, Usable: true });
        if (!hasCuda && !KernelAccelerator.ListDevices().Any(d => d is { Kind: DeviceKind.OpenCL, Usable: true }))
            Assert.True(cpu["chosen_by_auto"]!.GetValue<bool>());
        if (hasCuda)
        {
            var gpu = rows.First(r => r["kind"]!.GetValue<string>() == "cuda");
            Assert.NotNull(gpu["compute_capability"]);
            Assert.True(gpu["memory_used_bytes"]!.GetValue<long>() > 0);
        }
    }

    [Fact]
    public void Auto_prefers_cuda_then_opencl_then_cpu_and_never_ilgpu_cpu()
    {
        var cuda = new DeviceInfo(DeviceKind.Cuda, 0, "H100", 80L << 30, true, null);
        var badCuda = cuda with { Usable = false, Reason = "failed to start: driver" };
        var opencl = new DeviceInfo(DeviceKind.OpenCL, 0, "Radeon", 16L << 30, true, null);
        var badOpencl = opencl with { Usable = false, Reason = "OpenCL device lacks float64 (cl_khr_fp64)" };
        var ilgpuCpu = new DeviceInfo(DeviceKind.IlgpuCpu, 0, "CPUAccelerator", 0, true, null);

        Assert.Same(cuda, AutoBackendChoice.Pick([ilgpuCpu, opencl, cuda]).Device);
        var second = AutoBackendChoice.Pick([badCuda, opencl, ilgpuCpu]);
        Assert.Equal("opencl", second.Backend);
        Assert.Contains("no usable CUDA device", second.Reason, StringComparison.Ordinal);
        var cpu = AutoBackendChoice.Pick([badOpencl, ilgpuCpu]);
        Assert.Equal("cpu", cpu.Backend);
        Assert.Null(cpu.Device);
        Assert.Contains("lacks float64", cpu.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Survey_of_a_gpu_machine_shows_the_gpu_memory_and_capability_and_picks_it()
    {
        var cuda = new DeviceInfo(DeviceKind.Cuda, 0, "NVIDIA H100 80GB HBM3", 80L << 30, true, null);
        var ilgpuCpu = new DeviceInfo(DeviceKind.IlgpuCpu, 0, "CPUAccelerator", 0, true, null);
        var gpuMemory = DeviceMemorySample.FromBytes(1L << 30, 80L << 30);
        var survey = DeviceSurvey.Build([cuda, ilgpuCpu], new Dictionary<int, (string?, DeviceMemorySample?)> { [0] = ("9.0", gpuMemory) },
            DeviceMemorySample.FromBytes(4L << 30, 64L << 30), "Xeon", "/proc/meminfo");

        var gpu = survey.Devices[0];
        Assert.Equal(("cuda", "9.0", 1L << 30, 80L << 30, true), (gpu.Kind, gpu.ComputeCapability, gpu.MemoryUsedBytes, gpu.MemoryTotalBytes, gpu.ChosenByAuto));
        Assert.Equal(["cuda", "ilgpu-cpu", "cpu"], survey.Devices.Select(d => d.Kind).ToArray());
        Assert.All(survey.Devices.Skip(1), d => Assert.False(d.ChosenByAuto));
        Assert.Equal("cuda", survey.Auto.Backend);
    }
}
