using Meta.Gpu.Governance;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// The telemetry that <c>governance_update</c> (<c>meta-gpu bench</c>) and BenchmarkDotNet's <c>GovernanceUpdate</c>
/// feed <see cref="MetaIntegrativeLayer.Update"/> in a loop: a cycle of <see cref="Length"/> snapshots that fires every
/// rule in steady state (exploration, exploitation, the evaluator, load shedding and restoring, both hints, a
/// rollback) and leaves the knobs as it found them, so that every measured cycle does the same work.
/// </summary>
/// <remarks>
/// The rules only ever push gamma_diversity up and g_min and lambda_ci down, and a rollback puts its knobs on a
/// cooldown of 10 calls; the eight-snapshot cycle this replaced left tau and gamma_diversity at their upper bounds
/// within its warm-up, so in the measured calls exploration wrote nothing, g_min and lambda_ci never moved and tier 3
/// was never shed or restored. Here one call explores, exploits and steps the evaluator (<c>Explore</c>), the next
/// rolls it back under overload (<c>Crash</c>, shedding tier 3 first), and a busy call eleven later sheds tier 3 again,
/// which the calm call five later, its cooldown over, restores.
/// </remarks>
public static class GovernanceCycle
{
    /// <summary>Calls per cycle (a power of two: callers mask the index with <c>Length - 1</c>).</summary>
    public const int Length = 32;

    /// <summary>Calls before the measured ones: the history ring filled, the reward EMA and the cooldowns settled.</summary>
    public const int WarmupCalls = 4 * Length;

    private static readonly TelemetrySnapshot Explore = new()
    {
        AcceptRate = 0.02, StabilityAvg = 0.9, GainP50 = 0.02, GainPrev = 0.01, AcceptLowWindows = 6, CiWidth = 0.2,
        LatencyMs = 60, VramUtil = 0.4,
    };

    private static readonly TelemetrySnapshot Crash = new() { AcceptRate = 0.0, LatencyMs = 240, VramUtil = 0.95, OomFlag = true };

    private static readonly TelemetrySnapshot Busy = new() { AcceptRate = 0.4, StabilityAvg = 0.8, LatencyMs = 150, VramUtil = 0.5 };

    private static readonly TelemetrySnapshot Calm = new() { AcceptRate = 0.5, StabilityAvg = 0.9, RclContrast = 0.3, LatencyMs = 40, VramUtil = 0.3 };

    private static readonly TelemetrySnapshot Warm = new() { AcceptRate = 0.45, StabilityAvg = 0.85, LatencyMs = 110, VramUtil = 0.6, CiWidth = 0.05 };

    /// <summary>Explore, Crash, calm and warm calls, Busy at 11, then calm and warm calls (the calm one at 16, once
    /// tier 3's cooldown is over, restores it).</summary>
    public static IReadOnlyList<TelemetrySnapshot> Snapshots { get; } = Build();

    private static TelemetrySnapshot[] Build()
    {
        var cycle = new TelemetrySnapshot[Length];
        for (var i = 0; i < cycle.Length; i++) cycle[i] = i % 3 == 0 ? Warm : Calm;
        cycle[0] = Explore;
        cycle[1] = Crash;
        cycle[11] = Busy;
        cycle[16] = Calm;
        return cycle;
    }
}
