namespace Meta.Gpu.Tests.Bench;

/// <summary>
/// The BenchmarkDotNet project shares the governance cycle with meta-gpu bench without referencing the CLI project:
/// the reference (a195bbc) pulled the CLI's TorchSharp and libtorch (about 1 GB of native libraries) into the
/// benchmarks' output, and BenchmarkDotNet's default toolchain copies that output again for every job it builds.
/// </summary>
public sealed class BenchmarksDependencyTests
{
    [Fact]
    public void The_benchmarks_reference_neither_the_cli_nor_torchsharp()
    {
        var referenced = typeof(Meta.Gpu.Benchmarks.GovernanceUpdate).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToArray();
        Assert.DoesNotContain("meta-gpu", referenced);
        Assert.DoesNotContain("TorchSharp", referenced);
        Assert.DoesNotContain("Meta.Gpu.TorchSharp", referenced);
    }
}
