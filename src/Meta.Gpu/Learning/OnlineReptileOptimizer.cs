namespace Meta.Gpu.Learning;

/// <summary>
/// The keyed prior and its online Reptile step (DESIGN §8): a step size beta steered by the DRG flags, a reward
/// EMA that triggers rollbacks, and the newest <c>backup_versions</c> copies of the prior to roll back to.
/// Values are float64. Not thread-safe: the agent drives it from one event at a time.
/// </summary>
/// <remarks>
/// Apply, in order: (a) beta x decay under load, x growth when bandwidth is free, then one clamp to
/// [beta_init * beta_min_factor, beta_max]; (b) <c>delta</c> only: keys the prior lacks join it at 0; (c) a copy
/// of the prior goes onto the history; (d) <c>interpolate</c>: prior[k] += beta (v - prior[k]), a new key adopts v;
/// <c>delta</c>: prior[k] += beta v; keys absent from the update keep their value (D3); (e) the reward EMA.
/// </remarks>
public sealed class OnlineReptileOptimizer
{
    private readonly SortedDictionary<string, double> _prior = new(StringComparer.Ordinal);
    private readonly LinkedList<SortedDictionary<string, double>> _history = new();

    public OnlineReptileOptimizer(OptimizerConfig? config = null, IReadOnlyDictionary<string, double>? initialPrior = null)
    {
        Config = (config ?? OptimizerConfig.Default).Validated();
        Beta = Config.BetaInit;
        if (initialPrior is not null)
            foreach (var (key, value) in initialPrior)
            {
                // Every step interpolates from the prior: a non-finite value would stay in it for good.
                if (!double.IsFinite(value)) throw new InvalidInputException(FormattableString.Invariant($"initial prior: value of \"{key}\" is not finite ({value})"));
                _prior[key] = value;
            }
    }

    public OptimizerConfig Config { get; }

    /// <summary>The current step size.</summary>
    public double Beta { get; private set; }

    /// <summary>The reward EMA after the last <see cref="Apply(IReadOnlyList{float}, IReadOnlyList{string}, double, DrgProfile?)"/> (0 before).</summary>
    public double RewardEma { get; private set; }

    /// <summary>The prior, keys in ordinal order (a live read-only view).</summary>
    public IReadOnlyDictionary<string, double> Prior => _prior;

    /// <summary>Saved copies available for <see cref="Rollback"/>.</summary>
    public int BackupCount => _history.Count;

    /// <summary>A copy of the prior.</summary>
    public SortedDictionary<string, double> PriorSnapshot() => new(_prior, StringComparer.Ordinal);

    /// <summary>One online Reptile step toward <paramref name="vector"/> (values for <paramref name="keys"/>).</summary>
    /// <exception cref="InvalidInputException">Keys and vector differ in length, a key is null or repeats, a value
    /// or the reward is non-finite; nothing changes then.</exception>
    public void Apply(IReadOnlyList<float> vector, IReadOnlyList<string> keys, double reward, DrgProfile? drg = null)
    {
        ArgumentNullException.ThrowIfNull(vector);
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count != vector.Count) throw new InvalidInputException($"optimizer update: {keys.Count} keys but {vector.Count} values");
        // Checked here, not left to the prior's dictionary: that threw only at the step, after beta had moved and
        // the backup had been pushed.
        for (var i = 0; i < keys.Count; i++)
            if (keys[i] is null) throw new InvalidInputException($"optimizer update: key {i} is null");
        var seen = new HashSet<string>(keys.Count, StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
            if (!seen.Add(keys[i])) throw new InvalidInputException($"optimizer update: key \"{keys[i]}\" is repeated (at {i})");
        for (var i = 0; i < vector.Count; i++)
            if (!float.IsFinite(vector[i])) throw new InvalidInputException(FormattableString.Invariant($"optimizer update: value of \"{keys[i]}\" is not finite ({vector[i]})"));
        if (!double.IsFinite(reward)) throw new InvalidInputException(FormattableString.Invariant($"optimizer update: reward is not finite ({reward})"));
        drg ??= DrgProfile.None;

        // (a) step size.
        var beta = Beta;
        if (drg.VramHigh || drg.LatencyHigh) beta *= Config.BetaDecayRate;
        if (drg.BandwidthFree) beta *= Config.BetaGrowthRate;
        Beta = Math.Clamp(beta, Config.BetaFloor, Config.BetaMax);

        // (b) the delta rule starts new keys at 0 (before the backup, so a rollback keeps them at 0).
        if (Config.UpdateRule == UpdateRule.Delta)
            foreach (var key in keys) _prior.TryAdd(key, 0.0);

        // (c) backup.
        if (Config.BackupVersions > 0)
        {
            _history.AddLast(PriorSnapshot());
            while (_history.Count > Config.BackupVersions) _history.RemoveFirst();
        }

        // (d) the step.
        for (var i = 0; i < keys.Count; i++)
        {
            double v = vector[i];
            if (Config.UpdateRule == UpdateRule.Delta)
                _prior[keys[i]] += Beta * v;
            else
                _prior[keys[i]] = _prior.TryGetValue(keys[i], out var p) ? p + Beta * (v - p) : v;
        }

        // (e) reward EMA.
        RewardEma = (1 - Config.EmaAlpha) * RewardEma + Config.EmaAlpha * reward;
    }

    /// <summary>Sets beta and the reward EMA to saved values (README "Storage", beside DESIGN §11's files: the state saved with the prior), so the
    /// next step and rollback decision are the ones the optimizer that saved them would make. A beta outside this
    /// configuration's [beta_init * beta_min_factor, beta_max] (saved under other settings) is clamped into it, as
    /// a step would clamp it. The rollback copies are not restored: there are none until the next step.</summary>
    /// <exception cref="InvalidInputException">A value is not finite (nothing changes).</exception>
    public void RestoreState(double beta, double rewardEma)
    {
        if (!double.IsFinite(beta)) throw new InvalidInputException(FormattableString.Invariant($"optimizer state: beta is not finite ({beta})"));
        if (!double.IsFinite(rewardEma)) throw new InvalidInputException(FormattableString.Invariant($"optimizer state: reward_ema is not finite ({rewardEma})"));
        Beta = Math.Clamp(beta, Config.BetaFloor, Config.BetaMax);
        RewardEma = rewardEma;
    }

    /// <summary>True when reward_ema - <paramref name="reward"/> &gt; rollback_delta.</summary>
    public bool ShouldRollback(double reward) => RewardEma - reward > Config.RollbackDelta;

    /// <summary>Restores the newest saved prior and drops it from the history (repeated rollbacks go further
    /// back). Without history the prior stays. Beta and the EMA are unchanged. Returns whether it restored.</summary>
    public bool Rollback()
    {
        if (_history.Last is not { } newest) return false;
        _history.RemoveLast();
        _prior.Clear();
        foreach (var (key, value) in newest.Value) _prior[key] = value;
        return true;
    }
}
