namespace Meta.Gpu.Governance;

/// <summary>
/// What the governance layer remembers between calls (DESIGN §5): the knob values, the reward EMA, the
/// cooldowns, the history and the counters. Only <see cref="MetaIntegrativeLayer"/> changes it.
/// </summary>
public sealed class MetaState
{
    private KnobVector _knobs = KnobVector.Initial;
    private CooldownVector _cooldowns;

    internal MetaState(int maxHistory)
    {
        History = new MetaHistory(maxHistory);
    }

    /// <summary>The knob values now (initially <see cref="KnobVector.Initial"/>).</summary>
    public KnobVector Knobs => _knobs;

    /// <summary>Cycles left per knob before it may change again.</summary>
    public CooldownVector Cooldowns => _cooldowns;

    /// <summary>The reward EMA (starts at 0).</summary>
    public double RewardEma { get; internal set; }

    /// <summary>Policy decisions made (one per call).</summary>
    public long DecisionCount { get; internal set; }

    /// <summary>Rollbacks performed.</summary>
    public long RollbackCount { get; internal set; }

    public MetaHistory History { get; }

    internal ref KnobVector KnobsRef => ref _knobs;

    internal ref CooldownVector CooldownsRef => ref _cooldowns;
}
