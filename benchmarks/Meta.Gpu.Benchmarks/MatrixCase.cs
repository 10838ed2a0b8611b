namespace Meta.Gpu.Benchmarks;

/// <summary>One cell of the aggregation matrix: a backend and an N x D batch.</summary>
public readonly record struct MatrixCase(string Backend, int N, int D)
{
    public long Bytes => (long)N * D * sizeof(float);

    public override string ToString() => $"{Backend} {N}x{D}";
}
