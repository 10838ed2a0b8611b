namespace Meta.Gpu.TorchSharp;

/// <summary>Settings of a <see cref="MetaTrainingLoop"/>.</summary>
public sealed record MetaTrainingOptions
{
    /// <summary>Outer (Reptile) step size while nothing governs it: 0.1, the optimizer's <c>beta_init</c> (DESIGN
    /// §8) and the outer step of the Reptile paper's sine experiment.</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>The outer step counts as having headroom (<c>bandwidth_free</c> in <c>processing_metrics</c>, which
    /// lets the optimizer grow beta) while it takes less than this: 56 ms, the scheduler's latency target (80 ms)
    /// times its headroom factor (0.7), DESIGN §9.</summary>
    public double ComfortLatencyMs { get; init; } = 56;

    /// <summary>The outer step counts as slow (<c>latency_high</c>, which shrinks the optimizer's beta) above this:
    /// 80 ms, the scheduler's latency target (DESIGN §9, §10).</summary>
    public double LatencyTargetMs { get; init; } = 80;

    /// <summary>Wait for the bus to go idle after publishing a round, so that the supervisor's and the agent's
    /// answers apply from the next round on and a seeded run repeats exactly. True by default.</summary>
    public bool WaitForGovernance { get; init; } = true;

    public void Validate()
    {
        if (!double.IsFinite(Beta) || Beta <= 0 || Beta > 1)
            throw new InvalidInputException(FormattableString.Invariant($"beta: must be in (0, 1], got {Beta}"));
        // "Finite" said: an infinite value was refused as "must be >= 0, got Infinity", a bound it meets.
        if (!double.IsFinite(ComfortLatencyMs) || ComfortLatencyMs < 0)
            throw new InvalidInputException(FormattableString.Invariant($"comfort_latency_ms: must be finite and >= 0, got {ComfortLatencyMs}"));
        if (!double.IsFinite(LatencyTargetMs) || LatencyTargetMs < ComfortLatencyMs)
            throw new InvalidInputException(FormattableString.Invariant($"latency_target_ms: must be finite and >= comfort_latency_ms ({ComfortLatencyMs}), got {LatencyTargetMs}"));
    }
}
