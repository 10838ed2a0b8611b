using Meta.Gpu.Compute;
using Meta.Gpu.Kernels;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// What <c>auto</c> picks (DESIGN §13), as a report over the listed devices: the first usable device of the kinds in
/// <see cref="ComputeBackends.AutoOrder"/> (cuda, then opencl), else the <c>cpu</c> backend; never <c>ilgpu-cpu</c>.
/// <see cref="Device"/> is null for the cpu backend.
/// </summary>
public sealed record AutoBackendChoice(string Backend, DeviceInfo? Device, string Reason)
{
    /// <summary>The choice among <paramref name="devices"/> (as <see cref="KernelAccelerator.ListDevices"/> lists
    /// them, with <see cref="DeviceInfo.Usable"/> false for a device that cannot run the kernels or start).</summary>
    public static AutoBackendChoice Pick(IReadOnlyList<DeviceInfo> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var passedOver = new List<string>();
        foreach (var backend in ComputeBackends.AutoOrder)
        {
            if (!DeviceKindNames.TryParse(backend, out var kind)) continue;
            var label = kind == DeviceKind.Cuda ? "CUDA" : "OpenCL";
            var usable = devices.FirstOrDefault(d => d.Kind == kind && d.Usable);
            if (usable is not null)
            {
                // Devices of this kind listed before it are unusable ones: say so, rather than call it the first.
                var skipped = devices.TakeWhile(d => !ReferenceEquals(d, usable)).Where(d => d.Kind == kind).Select(d => $"{d.Name}: {d.Reason}").ToList();
                var past = skipped.Count == 0 ? "" : $" (passed over {string.Join("; ", skipped)})";
                var why = passedOver.Count == 0 && skipped.Count == 0
                    ? $"{usable.Name} is the first {label} device ({string.Join(" before ", ComputeBackends.AutoOrder)} before cpu)"
                    : passedOver.Count == 0
                        ? $"{usable.Name} is the first usable {label} device{past}"
                        : $"{string.Join(" and ", passedOver)}, and {usable.Name} is the first usable {label} device{past}";
                return new(backend, usable, $"auto picks {backend}: {why}");
            }
            var listed = devices.Where(d => d.Kind == kind).ToList();
            passedOver.Add(listed.Count == 0
                ? $"no {label} device"
                : $"no usable {label} device (" + string.Join("; ", listed.Select(d => $"{d.Name}: {d.Reason}")) + ")");
        }
        return new("cpu", null, $"auto picks cpu: {string.Join(" and ", passedOver)}; ilgpu-cpu is for tests and never picked");
    }
}
