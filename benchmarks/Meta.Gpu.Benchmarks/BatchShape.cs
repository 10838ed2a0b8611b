namespace Meta.Gpu.Benchmarks;

/// <summary>N domains x D parameters.</summary>
public readonly record struct BatchShape(int N, int D)
{
    public long Bytes => (long)N * D * sizeof(float);

    public override string ToString() => $"{N}x{D}";
}
