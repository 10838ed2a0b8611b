using System.Globalization;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime.Cuda;
using Meta.Gpu.Compute;
using Meta.Gpu.Kernels;

namespace Meta.Gpu.Telemetry;

/// <summary>
/// Every accelerator on this machine, with memory figures and what <c>auto</c> picks (DESIGN §13, §15): the
/// devices ILGPU sees (CUDA, OpenCL, its CPU accelerator) and the <c>cpu</c> backend, which is always there.
/// </summary>
public sealed record DeviceSurvey(IReadOnlyList<AcceleratorReport> Devices, AutoBackendChoice Auto)
{
    /// <summary>Surveys this machine. A CUDA device is opened briefly (its own context) to read the driver's memory
    /// info; one that fails to open is listed as unusable with the error, and <c>auto</c> passes over it.</summary>
    public static DeviceSurvey Take()
    {
        var listed = KernelAccelerator.ListDevices();
        var cuda = ReadCudaDevices(listed.Count(d => d.Kind == DeviceKind.Cuda));
        var devices = listed.Select(d => d.Kind == DeviceKind.Cuda && cuda.TryGetValue(d.Ordinal, out var c) && c.Error is not null
            ? d with { Usable = false, Reason = $"failed to start: {c.Error}" }
            : d).ToList();
        var cpu = new CpuMemoryTelemetrySource();
        var cpuSample = cpu.Sample();
        return Build(devices, cuda.ToDictionary(kv => kv.Key, kv => (kv.Value.Capability, kv.Value.Sample)), cpuSample, CpuName(), cpu.Origin);
    }

    /// <summary>The survey from gathered figures (pure; tests feed it listings of machines they do not have).</summary>
    /// <param name="devices">ILGPU's devices, unusable ones marked.</param>
    /// <param name="cuda">Per CUDA ordinal: compute capability and a driver memory sample (null when unread).</param>
    /// <param name="cpuMemory">System memory, for the cpu and ilgpu-cpu rows.</param>
    /// <param name="cpuName">The processor's name.</param>
    /// <param name="cpuMemoryOrigin">Where the CPU figures come from ("/proc/meminfo", "memory cgroup" or "gc").</param>
    public static DeviceSurvey Build(IReadOnlyList<DeviceInfo> devices, IReadOnlyDictionary<int, (string? Capability, DeviceMemorySample? Sample)> cuda,
        DeviceMemorySample cpuMemory, string cpuName, string cpuMemoryOrigin)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(cuda);
        var auto = AutoBackendChoice.Pick(devices);
        var rows = new List<AcceleratorReport>();
        foreach (var d in devices)
        {
            var chosen = ReferenceEquals(d, auto.Device);
            var note = d.Usable ? null : d.Reason;
            switch (d.Kind)
            {
                case DeviceKind.Cuda:
                    var info = cuda.TryGetValue(d.Ordinal, out var c) ? c : (null, null);
                    rows.Add(new("cuda", d.Name, info.Sample?.UsedBytes, info.Sample?.TotalBytes ?? d.MemoryBytes, info.Capability, chosen,
                        note ?? (info.Sample is null ? "memory in use unknown" : "driver memory info (all processes)")));
                    break;
                case DeviceKind.OpenCL:
                    rows.Add(new("opencl", d.Name, DeviceAllocationLedger.For(DeviceKind.OpenCL).BytesHeld, d.MemoryBytes, null, chosen,
                        note ?? "used = this process's engine allocations (OpenCL reports no free memory)"));
                    break;
                case DeviceKind.IlgpuCpu:
                    rows.Add(new("ilgpu-cpu", d.Name, cpuMemory.UsedBytes, cpuMemory.TotalBytes, null, false,
                        note ?? $"the ILGPU CPU accelerator, for testing the kernels; never picked by auto; system memory ({cpuMemoryOrigin})"));
                    break;
            }
        }
        rows.Add(new("cpu", cpuName, cpuMemory.UsedBytes, cpuMemory.TotalBytes, null, auto.Backend == "cpu",
            $"vectorised multi-threaded C# ({CpuBackend.VectorWidth}), {Environment.ProcessorCount} cores; system memory ({cpuMemoryOrigin})"));
        return new DeviceSurvey(rows, auto);
    }

    private sealed record CudaReading(string? Capability, DeviceMemorySample? Sample, string? Error);

    /// <summary>Compute capability and driver memory info per CUDA ordinal (the listing's order, which is
    /// ILGPU's CUDA device order).</summary>
    private static Dictionary<int, CudaReading> ReadCudaDevices(int count)
    {
        var result = new Dictionary<int, CudaReading>();
        if (count == 0) return result;
        using var context = Context.Create(builder => builder.Cuda());
        var devices = context.GetCudaDevices();
        for (var ordinal = 0; ordinal < devices.Count; ordinal++)
        {
            var device = devices[ordinal];
            var capability = Capability(device);
            try
            {
                using var accelerator = device.CreateCudaAccelerator(context);
                var total = accelerator.MemorySize;
                var free = accelerator.GetFreeMemory();
                result[ordinal] = new(capability, DeviceMemorySample.FromBytes(Math.Max(0, total - free), total), null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                result[ordinal] = new(capability, null, e.Message.ReplaceLineEndings(" "));
            }
        }
        return result;
    }

    private static string? Capability(CudaDevice device) =>
        device.Architecture is { } arch ? string.Create(CultureInfo.InvariantCulture, $"{arch.Major}.{arch.Minor}") : null;

    /// <summary>The processor's model name ("model name" in /proc/cpuinfo), else the architecture.</summary>
    private static string CpuName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is var colon and > 0)
                        return line[(colon + 1)..].Trim();
        }
        catch (IOException)
        {
            // Fall through to the architecture name: the listing does not depend on this file.
        }
        return $"{RuntimeInformation.ProcessArchitecture} processor";
    }
}
