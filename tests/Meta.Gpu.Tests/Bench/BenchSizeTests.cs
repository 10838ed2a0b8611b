using Meta.Gpu.Cli.Bench;

namespace Meta.Gpu.Tests.Bench;

/// <summary>
/// The sizes each backend's dense rows run at (DESIGN §15: "the defaults include the standard workload of §13 at
/// N=64, D=1,048,576 for cpu"): ilgpu-cpu alone at the small size by default, --quick's smoke size for all, and a
/// size given on the command line for every backend, the other one keeping its default.
/// </summary>
public sealed class BenchSizeTests
{
    [Theory]
    [InlineData("cpu", 64, 1_048_576)]
    [InlineData("cuda", 64, 1_048_576)]
    [InlineData("numpy", 64, 1_048_576)]
    [InlineData("ilgpu-cpu", BenchOptions.SmallN, BenchOptions.SmallD)]
    public void The_defaults_are_the_standard_workload_and_ilgpu_cpu_runs_small(string backend, int n, int d) =>
        Assert.Equal((n, d), new BenchOptions().SizeFor(backend));

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void Quick_runs_every_backend_at_the_smoke_size(string backend) =>
        Assert.Equal((BenchOptions.QuickN, BenchOptions.QuickD), BenchOptions.QuickDefaults.SizeFor(backend));

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void One_size_given_runs_every_backend_at_it_with_the_others_standard_default(string backend)
    {
        Assert.Equal((4, BenchOptions.StandardD), new BenchOptions { N = 4 }.SizeFor(backend));
        Assert.Equal((BenchOptions.StandardN, 128), new BenchOptions { D = 128 }.SizeFor(backend));
        Assert.Equal((4, BenchOptions.QuickD), (BenchOptions.QuickDefaults with { N = 4 }).SizeFor(backend));
        Assert.Equal((BenchOptions.QuickN, 128), (BenchOptions.QuickDefaults with { D = 128 }).SizeFor(backend));
    }
}
