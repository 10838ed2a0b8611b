using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Meta.Gpu.Compute;
using Meta.Gpu.Kernels;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// <c>bench.json</c>'s <c>machine</c> (DESIGN §15): the CPU model, logical cores, the widest SIMD the runtime
/// uses ("avx512", "avx2", "avx", "sse4.2", "neon", "none"), and the first usable CUDA device's name (null without one).
/// </summary>
public sealed record MachineInfo(string Cpu, int Cores, string Simd, string? Gpu)
{
    public string Os { get; init; } = RuntimeInformation.OSDescription;

    public string Runtime { get; init; } = RuntimeInformation.FrameworkDescription;

    public static MachineInfo Detect() => new(CpuModel(), Environment.ProcessorCount, SimdLevel(), GpuName());

    public static string SimdLevel() =>
        Avx512F.IsSupported ? "avx512"
        : Avx2.IsSupported ? "avx2"
        : Avx.IsSupported ? "avx"
        : Sse42.IsSupported ? "sse4.2"
        : AdvSimd.IsSupported ? "neon"
        : "none";

    private static string CpuModel()
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
            // Fall through to the architecture: the model name is informative, not essential.
        }
        return Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The first usable CUDA device ILGPU lists, or null (no driver, no device, or listing failed).</summary>
    private static string? GpuName()
    {
        try
        {
            return IlgpuBackend.ListDevices().FirstOrDefault(d => d.Kind == DeviceKind.Cuda && d.Usable)?.Name;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }
}
