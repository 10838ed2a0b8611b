using BenchmarkDotNet.Attributes;
using Meta.Gpu.Compute;

namespace Meta.Gpu.Benchmarks;

/// <summary>The bandwidth reference measured in the same run as the workloads (DESIGN §13): 256 MB of float32.</summary>
[BenchmarkCategory("bandwidth")]
public class ReadBandwidth
{
    public const int Floats = 64 << 20;
    public const long Bytes = (long)Floats * sizeof(float);

    private float[] source = [];
    private float[] target = [];

    [GlobalSetup]
    public void Setup()
    {
        source = GC.AllocateUninitializedArray<float>(Floats);
        target = GC.AllocateUninitializedArray<float>(Floats);
        // Touch every page so the first iteration measures memory, not page faults.
        Parallel.For(0, Floats / (1 << 20), i =>
        {
            source.AsSpan(i << 20, 1 << 20).Fill(1f / (1 + i));
            target.AsSpan(i << 20, 1 << 20).Clear();
        });
    }

    /// <summary>Bytes read / time is the read bandwidth. Not a BenchmarkDotNet baseline: its category is its own, so the
    /// ratio columns compared it only with itself and gave the copy "?"; the share of read divides by it instead.</summary>
    [Benchmark, BenchmarkCategory("read_bandwidth")]
    public double ReadSum() => HostReadStream.Sum(source);

    /// <summary>(Bytes read + written) / time is the copy bandwidth.</summary>
    [Benchmark, BenchmarkCategory("copy_bandwidth")]
    public void Copy() => HostReadStream.Copy(source, target);
}
