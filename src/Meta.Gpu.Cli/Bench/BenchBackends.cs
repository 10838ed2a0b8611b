namespace Meta.Gpu.Cli.Bench;

/// <summary>The backend and peer names of <c>meta-gpu bench</c> (DESIGN §15).</summary>
public static class BenchBackends
{
    public const string Cpu = "cpu";
    public const string Cuda = "cuda";
    public const string OpenCl = "opencl";
    public const string IlgpuCpu = "ilgpu-cpu";
    public const string Numpy = "numpy";
    public const string TorchSharp = "torchsharp";
    public const string PyTorch = "pytorch";

    /// <summary>The engine's own backends.</summary>
    public static IReadOnlyList<string> Engine { get; } = [Cpu, Cuda, OpenCl, IlgpuCpu];

    /// <summary>The peers timed beside them on the same data.</summary>
    public static IReadOnlyList<string> Peers { get; } = [Numpy, TorchSharp, PyTorch];

    public static IReadOnlyList<string> All { get; } = [.. Engine, .. Peers];

    public static bool IsPeer(string backend) => Peers.Contains(backend);
}
