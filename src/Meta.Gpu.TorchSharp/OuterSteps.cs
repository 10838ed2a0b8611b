using Meta.Gpu.Compute;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.TorchSharp;

/// <summary>Outer steps by backend name.</summary>
public static class OuterSteps
{
    /// <summary>"host": the plain confidence-weighted mean (<see cref="WeightedMeanReptileStep"/>), which takes
    /// only <paramref name="config"/>'s min_confidence (0.05 without a config); any compute backend name
    /// (<see cref="ComputeBackends.Names"/>: cpu, cuda, opencl, ilgpu-cpu, auto): the engine's aggregation and
    /// Reptile step on it with <paramref name="config"/> (<see cref="EngineOuterStep"/>).</summary>
    /// <exception cref="InvalidInputException">An unknown name, or a device backend that is not there, under
    /// <paramref name="field"/>; an invalid <paramref name="config"/>, before any backend is made.</exception>
    public static IOuterStep Create(string backend, CrossMetaConfig? config = null, string field = "backend")
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (backend.Trim().Equals(Host, StringComparison.OrdinalIgnoreCase))
            return config is null ? new WeightedMeanReptileStep() : new WeightedMeanReptileStep(config.Validated().MinConfidence);
        // Checked here so that the list of valid names has host in it too.
        if (!ComputeBackends.Names.Contains(backend.Trim(), StringComparer.OrdinalIgnoreCase))
            throw new InvalidInputException($"{field}: unknown name \"{backend}\" (valid: {string.Join(", ", ComputeBackends.Names)}, {Host})");
        // Before the backend: a device backend made for a configuration refused next was never disposed.
        var validated = config?.Validated();
        return new EngineOuterStep(ComputeBackends.Create(backend, field: field), validated);
    }

    public const string Host = "host";
}
