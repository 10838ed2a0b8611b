namespace Meta.Gpu.TorchSharp;

/// <summary>Outer steps by backend name: the seam between training loops and the compute engine.</summary>
public static class OuterSteps
{
    /// <summary>"host": <see cref="WeightedMeanReptileStep"/>, the plain confidence-weighted Reptile step.</summary>
    public static IOuterStep Create(string backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return backend switch
        {
            "host" => new WeightedMeanReptileStep(),
            _ => throw new InvalidInputException($"--backend: unknown backend '{backend}' (known: host)"),
        };
    }
}
