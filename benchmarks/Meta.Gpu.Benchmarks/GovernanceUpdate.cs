using BenchmarkDotNet.Attributes;
using Meta.Gpu.Cli.Bench;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Benchmarks;

/// <summary>
/// <see cref="MetaIntegrativeLayer.Update"/> (DESIGN §5), default config, no policy log, over
/// <see cref="GovernanceCycle"/> (the cycle <c>meta-gpu bench</c>'s <c>governance_update</c> runs), which fires every
/// rule in steady state. Target: &lt;= 2 µs median and 0 bytes allocated per call in steady state (the memory
/// diagnoser's Allocated column).
/// </summary>
[BenchmarkCategory("governance_update")]
public class GovernanceUpdate
{
    public const int CycleLength = GovernanceCycle.Length;

    private TelemetrySnapshot[] cycle = [];
    private MetaIntegrativeLayer layer = null!;
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        cycle = [.. GovernanceCycle.Snapshots];
        layer = new MetaIntegrativeLayer();
        next = 0;
        for (var i = 0; i < GovernanceCycle.WarmupCalls; i++) layer.Update(cycle[i & (CycleLength - 1)]);
    }

    [GlobalCleanup]
    public void Cleanup() => layer.Dispose();

    [Benchmark]
    public double Update() => layer.Update(cycle[next++ & (CycleLength - 1)]).MetaScore;
}
