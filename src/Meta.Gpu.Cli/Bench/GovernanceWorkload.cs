using System.Diagnostics;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// <c>governance_update</c>: <see cref="MetaIntegrativeLayer.Update"/> with the default config and no policy log,
/// over a cycle of eight telemetry snapshots that exercise every rule (exploration, exploitation, the evaluator,
/// load shedding and restoring, resource hints, rollbacks). Reports time per call and the managed bytes allocated
/// per call on the calling thread, both in steady state (after the warm-up repeats).
/// </summary>
public static class GovernanceWorkload
{
    private static readonly TelemetrySnapshot[] Cycle =
    [
        new() { AcceptRate = 0.02, StabilityAvg = 0.5, LatencyMs = 80, VramUtil = 0.5 },
        new() { AcceptRate = 0.3, StabilityAvg = 0.9, GainP50 = 0.02, GainPrev = 0.01, LatencyMs = 60, VramUtil = 0.4 },
        new() { AcceptRate = 0.01, AcceptLowWindows = 6, LatencyMs = 150, VramUtil = 0.9, CiWidth = 0.2 },
        new() { AcceptRate = 0.5, StabilityAvg = 0.95, RclContrast = 0.3, LatencyMs = 40, VramUtil = 0.3 },
        new() { AcceptRate = 0.0, LatencyMs = 240, VramUtil = 0.95, OomFlag = true },
        new() { AcceptRate = 0.4, StabilityAvg = 0.8, LatencyMs = 90, VramUtil = 0.6, CiWidth = 0.05 },
        new() { AcceptRate = 0.05, StabilityAvg = 0.2, LatencyMs = 110, VramUtil = 0.7 },
        new() { AcceptRate = 0.6, StabilityAvg = 0.85, GainP50 = 0.03, LatencyMs = 30, VramUtil = 0.2 },
    ];

    public static BenchResult Run(BenchOptions options, double readGbs)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var layer = new MetaIntegrativeLayer();
        var calls = Math.Max(options.GovernanceCalls, 1);
        var perCallMs = new double[options.Repeats];
        long worstAllocated = 0;
        for (var r = -Math.Max(options.Warmup, 1); r < options.Repeats; r++)
        {
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++) layer.Update(Cycle[i & 7]);
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            if (r < 0) continue;
            perCallMs[r] = elapsed / calls;
            worstAllocated = Math.Max(worstAllocated, allocated);
        }
        var row = BenchResult.Timed(BenchWorkloads.GovernanceUpdate, BenchBackends.Cpu, 1, 0, perCallMs, 0, readGbs);
        return row with
        {
            OpsPerS = 1000.0 / row.MedianMs,
            AllocatedBytesPerOp = (double)worstAllocated / calls,
            Note = $"MetaIntegrativeLayer.Update, default config, no policy log, {calls} calls per repeat (times are per call)",
        };
    }
}
