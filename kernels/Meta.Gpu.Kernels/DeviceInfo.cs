namespace Meta.Gpu.Kernels;

/// <summary>One device ILGPU sees. <see cref="Usable"/> is false, with <see cref="Reason"/>, for a device the
/// kernels cannot run on (an OpenCL device without generic address space or float64).</summary>
public sealed record DeviceInfo(DeviceKind Kind, int Ordinal, string Name, long MemoryBytes, bool Usable, string? Reason);
