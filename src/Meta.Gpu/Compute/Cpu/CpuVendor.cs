using System.Runtime.Intrinsics.X86;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>Who made this machine's CPU, for the kernel choices that were measured to differ between vendors.</summary>
internal static class CpuVendor
{
    /// <summary>CPUID's vendor string ("GenuineIntel", "AuthenticAMD", ...); empty off x86.</summary>
    public static string Name { get; } = Read();

    /// <summary>Whether CPUID names Intel.</summary>
    public static bool IsIntel { get; } = Name == "GenuineIntel";

    private static string Read()
    {
        if (!X86Base.IsSupported) return "";
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        // The vendor string comes in EBX, EDX, ECX order, four ASCII bytes each, low byte first.
        Span<byte> name = stackalloc byte[12];
        BitConverter.TryWriteBytes(name, ebx);
        BitConverter.TryWriteBytes(name[4..], edx);
        BitConverter.TryWriteBytes(name[8..], ecx);
        return System.Text.Encoding.ASCII.GetString(name);
    }
}
