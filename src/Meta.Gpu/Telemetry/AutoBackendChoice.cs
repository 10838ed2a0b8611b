using Meta.Gpu.Kernels;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// What <c>auto</c> picks (DESIGN §13): the first usable CUDA device, else the first usable OpenCL device, else
/// the <c>cpu</c> backend; never <c>ilgpu-cpu</c>. <see cref="Device"/> is null for the cpu backend.
/// </summary>
public sealed record AutoBackendChoice(string Backend, DeviceInfo? Device, string Reason)
{
    /// <summary>The choice among <paramref name="devices"/> (as <see cref="KernelAccelerator.ListDevices"/> lists
    /// them, with <see cref="DeviceInfo.Usable"/> false for a device that cannot run the kernels or start).</summary>
    public static AutoBackendChoice Pick(IReadOnlyList<DeviceInfo> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var cuda = devices.FirstOrDefault(d => d is { Kind: DeviceKind.Cuda, Usable: true });
        if (cuda is not null)
            return new("cuda", cuda, $"auto picks cuda: {cuda.Name} is the first CUDA device (cuda before opencl before cpu)");

        var why = new List<string> { devices.Any(d => d.Kind == DeviceKind.Cuda) ? "no usable CUDA device" : "no CUDA device" };
        var opencl = devices.FirstOrDefault(d => d is { Kind: DeviceKind.OpenCL, Usable: true });
        if (opencl is not null)
            return new("opencl", opencl, $"auto picks opencl: {why[0]}, and {opencl.Name} is the first usable OpenCL device");

        why.Add(devices.Any(d => d.Kind == DeviceKind.OpenCL)
            ? "no OpenCL device the kernels run on (" + string.Join("; ", devices.Where(d => d.Kind == DeviceKind.OpenCL).Select(d => $"{d.Name}: {d.Reason}")) + ")"
            : "no OpenCL device");
        return new("cpu", null, $"auto picks cpu: {string.Join(" and ", why)}; ilgpu-cpu is for tests and never picked");
    }
}
