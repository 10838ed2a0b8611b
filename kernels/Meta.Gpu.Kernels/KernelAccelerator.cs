using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Meta.Gpu.Kernels;

/// <summary>
/// One ILGPU context and accelerator with the engine's kernels loaded once. Create it with
/// <see cref="TryCreate"/>; dispose it to free the device.
/// </summary>
/// <remarks>
/// Loading ILGPU never touches a driver: the CUDA driver (libcuda) and OpenCL loader are probed when the
/// context enumerates devices, and a machine without them simply has no such devices. Device creation errors
/// (a driver that is present but broken) surface as exceptions from <see cref="TryCreate"/>.
/// </remarks>
public sealed class KernelAccelerator : IDisposable
{
    private readonly Context _context;

    private KernelAccelerator(Context context, Accelerator accelerator, DeviceKind kind)
    {
        _context = context;
        Accelerator = accelerator;
        Kind = kind;
        Kernels = new KernelSet(accelerator);
    }

    public Accelerator Accelerator { get; }

    public DeviceKind Kind { get; }

    public KernelSet Kernels { get; }

    /// <summary>The device's name as its driver reports it.</summary>
    public string DeviceName => Accelerator.Name;

    /// <summary>
    /// The first usable device of <paramref name="kind"/> with the kernels loaded, or null when there is none.
    /// Throws when a device exists but cannot be started or the kernels fail to compile for it.
    /// </summary>
    public static KernelAccelerator? TryCreate(DeviceKind kind)
    {
        var context = CreateContext();
        try
        {
            foreach (var device in context.Devices)
            {
                if (KindOf(device) != kind || UnusableReason(device) is not null) continue;
                var accelerator = device.CreateAccelerator(context);
                try
                {
                    return new KernelAccelerator(context, accelerator, kind);
                }
                catch
                {
                    accelerator.Dispose();
                    throw;
                }
            }
        }
        catch
        {
            context.Dispose();
            throw;
        }
        context.Dispose();
        return null;
    }

    /// <summary>Every CUDA, OpenCL and CPU device ILGPU sees, with whether the kernels can run on it.</summary>
    public static IReadOnlyList<DeviceInfo> ListDevices()
    {
        using var context = CreateContext();
        var result = new List<DeviceInfo>();
        var ordinals = new Dictionary<DeviceKind, int>();
        foreach (var device in context.Devices)
        {
            if (KindOf(device) is not DeviceKind kind) continue;
            var ordinal = ordinals.GetValueOrDefault(kind);
            ordinals[kind] = ordinal + 1;
            var reason = UnusableReason(device);
            result.Add(new DeviceInfo(kind, ordinal, device.Name, device.MemorySize, reason is null, reason));
        }
        return result;
    }

    /// <summary>
    /// Device memory the engine may still allocate, in bytes: CUDA asks the driver; OpenCL has no such query,
    /// so it is the device's total memory; the CPU accelerator uses the memory the process could still get.
    /// </summary>
    public long FreeMemoryBytes()
    {
        switch (Accelerator)
        {
            case CudaAccelerator cuda:
                return cuda.GetFreeMemory();
            case CPUAccelerator:
                var gc = GC.GetGCMemoryInfo();
                return Math.Max(0, gc.TotalAvailableMemoryBytes - gc.MemoryLoadBytes);
            default:
                return Accelerator.MemorySize;
        }
    }

    /// <summary>Disposes the accelerator, then the context, the context even when the accelerator throws (whose
    /// exception is the one that surfaces).</summary>
    public void Dispose()
    {
        try
        {
            Accelerator.Dispose();
        }
        catch
        {
            try
            {
                _context.Dispose();
            }
            catch
            {
                // The accelerator's failure is the one to report; the context has been given its chance.
            }
            throw;
        }
        _context.Dispose();
    }

    // MathMode.Default keeps float64 as float64: Fast32BitOnly would demote the decision arithmetic to float32.
    // Profiling lets the backend time its kernels with device events (CUDA events on a GPU), transfers apart.
    private static Context CreateContext() =>
        Context.Create(builder => builder.Default().Math(MathMode.Default).Profiling().EnableAlgorithms());

    private static DeviceKind? KindOf(Device device) => device.AcceleratorType switch
    {
        AcceleratorType.Cuda => DeviceKind.Cuda,
        AcceleratorType.OpenCL => DeviceKind.OpenCL,
        AcceleratorType.CPU => DeviceKind.IlgpuCpu,
        _ => null,
    };

    private static string? UnusableReason(Device device)
    {
        if (device is not CLDevice cl) return null;
        if (!cl.Capabilities.GenericAddressSpace) return "OpenCL device lacks generic address space (ILGPU needs OpenCL 2.0)";
        if (!cl.Capabilities.Float64) return "OpenCL device lacks float64 (cl_khr_fp64)";
        return null;
    }
}
