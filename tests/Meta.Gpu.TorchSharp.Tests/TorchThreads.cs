using System.Runtime.CompilerServices;

namespace Meta.Gpu.TorchSharp.Tests;

internal static class TorchThreads
{
    /// <summary>The tests' networks are tiny: one libtorch thread is faster on a shared 2-core machine, and runs
    /// repeat exactly.</summary>
    [ModuleInitializer]
    internal static void UseOneThread() => global::TorchSharp.torch.set_num_threads(1);
}
