using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>Snapshots and configurations the governance tests share.</summary>
internal static class GovernanceTestData
{
    /// <summary>A reading that fires no rule: accept well above accept_low, moderate stability, no confidence
    /// width, no load, and device memory between vram_low and vram_high (no hint).</summary>
    public static TelemetrySnapshot Calm { get; } = new()
    {
        AcceptRate = 0.3,
        StabilityAvg = 0.5,
        RclContrast = 0.2,
        LatencyMs = 80,
        VramUtil = 0.6,
    };

    /// <summary>The default configuration with the EMA equal to the last reward (alpha 1), so that a test sets
    /// the EMA directly through the reward.</summary>
    public static IntegrativeMetaConfig EmaIsReward { get; } = new()
    {
        MetaScore = new MetaScoreConfig { EmaAlpha = 1.0 },
    };

    /// <summary>The default configuration without cooldowns, so that a knob may step on every call.</summary>
    public static IntegrativeMetaConfig NoCooldown { get; } = new()
    {
        Safety = new SafetyConfig { CooldownCycles = 0 },
    };
}

/// <summary>A clock that stands still at a chosen time.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
