namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The TorchSharp CPU peer (sort-based trimmed mean, median, weighted mean, lerp) on the same data in the same
/// process. TorchSharp is touched only inside this peer, and a failure to load libtorch is reported as the peer
/// skipped, so <c>meta-gpu bench</c> runs where libtorch is absent (the GPU machine's pack strips it).
/// </summary>
public static class TorchSharpPeer
{
    public static PeerRun Run(BenchData data, IReadOnlyList<string> workloads, BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        // The TorchSharp integration (src/Meta.Gpu.TorchSharp, with its libtorch load patch) is not in this build yet.
        return PeerRun.Skip(BenchBackends.TorchSharp, "the TorchSharp integration (src/Meta.Gpu.TorchSharp) is not in this build");
    }
}
