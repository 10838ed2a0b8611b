namespace Meta.Gpu.Kernels;

/// <summary>The ILGPU accelerators the engine can run its kernels on (DESIGN §13).</summary>
public enum DeviceKind
{
    /// <summary>An NVIDIA GPU through the CUDA driver.</summary>
    Cuda,

    /// <summary>An OpenCL 2.0 device with generic address space and float64.</summary>
    OpenCL,

    /// <summary>ILGPU's CPU accelerator: the very kernels on the CPU, to test them; slow.</summary>
    IlgpuCpu,
}

/// <summary>The backend names of <see cref="DeviceKind"/> ("cuda", "opencl", "ilgpu-cpu").</summary>
public static class DeviceKindNames
{
    public static string Of(DeviceKind kind) => kind switch
    {
        DeviceKind.Cuda => "cuda",
        DeviceKind.OpenCL => "opencl",
        DeviceKind.IlgpuCpu => "ilgpu-cpu",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The kind for a backend name; false for any other name.</summary>
    public static bool TryParse(string name, out DeviceKind kind)
    {
        switch (name)
        {
            case "cuda": kind = DeviceKind.Cuda; return true;
            case "opencl": kind = DeviceKind.OpenCL; return true;
            case "ilgpu-cpu": kind = DeviceKind.IlgpuCpu; return true;
            default: kind = default; return false;
        }
    }
}
