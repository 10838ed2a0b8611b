using Meta.Gpu.Compute;

namespace Meta.Gpu.Cli.Bench;

/// <summary>Starts an engine backend by name for the bench, or says why it cannot (no device, not in this build).</summary>
public static class EngineBackends
{
    public static (IComputeBackend? Backend, string? Reason) TryCreate(string name)
    {
        if (name == BenchBackends.Cpu)
            return (null, "the vectorised CpuBackend is not in this build");
        try
        {
            var backend = IlgpuBackend.TryCreate(name);
            return backend is null ? (null, $"no usable {name} device on this machine") : (backend, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return (null, $"{name} failed to start: {e.Message}");
        }
    }
}
