using System.Runtime.InteropServices;
using Meta.Gpu.Compute;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The data every backend and peer of one size is timed on: an N x D <see cref="DomainBatch"/> (no mask), N
/// confidences in [0.3, 1) (all 1.0 with equalWeights), a D-long prior, and the one-row batch
/// (row 0) of the Reptile-step workload. Deterministic for a seed.
/// </summary>
public sealed class BenchData
{
    public BenchData(int n, int d, int seed = 20261125, bool equalWeights = false)
    {
        N = n;
        D = d;
        Batch = new DomainBatch(n, d);
        Parallel.For(0, n, row =>
        {
            var random = new Random(seed + 7919 * row);
            var values = Batch.Row(row);
            // A per-row bias makes the trimmed and median picks row-dependent, as real domains are.
            var bias = (float)(random.NextDouble() - 0.5);
            for (var c = 0; c < values.Length; c++) values[c] = random.NextSingle() * 2 - 1 + bias;
        });
        var r = new Random(seed);
        for (var i = 0; i < n; i++)
        {
            // Drawn either way, so that the prior after them is the standard run's.
            var drawn = 0.3 + 0.7 * r.NextDouble();
            Batch.Confidences[i] = equalWeights ? 1.0 : drawn;
        }
        Prior = new float[d];
        for (var c = 0; c < d; c++) Prior[c] = r.NextSingle() - 0.5f;
        OneRow = new DomainBatch(1, d);
        Batch.Row(0).CopyTo(OneRow.Row(0));
        OneRow.Confidences[0] = 1.0;
    }

    public int N { get; }

    public int D { get; }

    public DomainBatch Batch { get; }

    /// <summary>The prior the step workloads start from (each run steps its own copy).</summary>
    public float[] Prior { get; }

    /// <summary>Row 0 of <see cref="Batch"/> as a one-domain batch: the target of the lone Reptile step.</summary>
    public DomainBatch OneRow { get; }

    /// <summary>Bytes of the N x D batch (the effective-bandwidth numerator of §13).</summary>
    public long BatchBytes => (long)N * D * sizeof(float);

    /// <summary>
    /// Writes the peers' copy into <paramref name="folder"/>: batch.f32 (row-major N x D little-endian float32,
    /// without the row padding), confidences.f64 (N float64) and prior.f32 (D float32).
    /// </summary>
    public void WritePeerFiles(string folder)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the peer files are written little-endian from memory");
        Directory.CreateDirectory(folder);
        using (var batch = new FileStream(Path.Combine(folder, "batch.f32"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            for (var row = 0; row < N; row++)
                batch.Write(MemoryMarshal.AsBytes(Batch.Row(row)));
        File.WriteAllBytes(Path.Combine(folder, "confidences.f64"), MemoryMarshal.AsBytes(Batch.Confidences.AsSpan()).ToArray());
        File.WriteAllBytes(Path.Combine(folder, "prior.f32"), MemoryMarshal.AsBytes(Prior.AsSpan()).ToArray());
    }
}
