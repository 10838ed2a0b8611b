using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Compute;

namespace Meta.Gpu.TorchSharp.Tests;

/// <summary>
/// The TorchSharp peer of `meta-gpu bench` hands back, after its timed calls, the result of one more call from the
/// original prior, and it agrees with the engine's on the same batch (PeerAgreement). Its median returned a tensor
/// already disposed (mul_ returns the sum it scaled, which a using had disposed): harmless while nobody read it,
/// an exception once the result is checked.
/// </summary>
public sealed class TorchSharpPeerResultTests
{
    [Fact]
    public void Every_workloads_result_agrees_with_the_engines_on_the_same_batch()
    {
        // N = 20 trims k = 2 rows from each end; several timed calls step the prior again and again first.
        var data = new BenchData(20, 300);
        var options = new BenchOptions { Warmup = 0, Repeats = 3 };
        var run = TorchSharpPeer.Run(data, BenchWorkloads.PeerDense, options);
        Assert.True(run.Skipped is null, run.Skipped);

        using var cpu = new CpuBackend();
        foreach (var workload in BenchWorkloads.PeerDense)
        {
            var times = run.Results[workload];
            Assert.Null(times.Skipped);
            Assert.Equal(3, times.TimesMs.Count);
            Assert.NotNull(times.Result);
            var comparison = PeerAgreement.Compare(EngineResults.Compute(workload, cpu, data, options), times.Result);
            Assert.True(comparison.Agrees, $"{workload}: {comparison}");
        }
    }
}
