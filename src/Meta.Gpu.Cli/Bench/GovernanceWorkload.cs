using System.Diagnostics;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// <c>governance_update</c>: <see cref="MetaIntegrativeLayer.Update"/> with the default config and no policy log,
/// over <see cref="GovernanceCycle"/>, which fires every rule in steady state. Reports time per call and the managed
/// bytes allocated per call on the calling thread, both in steady state (after the cycle's warm-up calls and the
/// warm-up repeats).
/// </summary>
public static class GovernanceWorkload
{
    public static BenchResult Run(BenchOptions options, double readGbs)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var layer = new MetaIntegrativeLayer();
        var cycle = GovernanceCycle.Snapshots.ToArray();
        // One running position across the warm-up and every repeat: a repeat that restarted the cycle part-way would
        // feed the layer another sequence than the cycle's.
        var next = 0;
        while (next < GovernanceCycle.WarmupCalls) layer.Update(cycle[next++ & (GovernanceCycle.Length - 1)]);
        var calls = Math.Max(options.GovernanceCalls, 1);
        var perCallMs = new RowRepeats(options.Repeats, options.RowBudget);
        long worstAllocated = 0;
        for (var r = -Math.Max(options.Warmup, 1); r < 0 || perCallMs.More; r++)
        {
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++) layer.Update(cycle[next++ & (GovernanceCycle.Length - 1)]);
            var elapsed = Stopwatch.GetElapsedTime(start);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            if (r < 0) continue;
            perCallMs.Add(elapsed, calls);
            worstAllocated = Math.Max(worstAllocated, allocated);
        }
        var row = BenchResult.Timed(BenchWorkloads.GovernanceUpdate, BenchBackends.Cpu, 1, 0, perCallMs.Milliseconds, 0, readGbs);
        return row with
        {
            OpsPerS = 1000.0 / row.MedianMs,
            AllocatedBytesPerOp = (double)worstAllocated / calls,
            Note = $"MetaIntegrativeLayer.Update, default config, no policy log, {calls} calls per repeat (times are per call)",
        };
    }
}
