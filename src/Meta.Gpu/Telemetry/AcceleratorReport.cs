namespace Meta.Gpu.Telemetry;

/// <summary>
/// One row of <c>meta-gpu devices</c> (DESIGN §15): kind ("cuda", "opencl", "ilgpu-cpu", "cpu"), name, memory used
/// and total in bytes (used null where it cannot be read), compute capability ("9.0" for CUDA; null elsewhere),
/// whether <c>auto</c> picks it, and a note (why a device is unusable, where the memory figures come from).
/// </summary>
public sealed record AcceleratorReport(
    string Kind,
    string Name,
    long? MemoryUsedBytes,
    long MemoryTotalBytes,
    string? ComputeCapability,
    bool ChosenByAuto,
    string? Note);
