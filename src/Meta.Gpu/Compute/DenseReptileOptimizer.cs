using Meta.Gpu.Learning;

namespace Meta.Gpu.Compute;

/// <summary>
/// The dense prior's optimizer state (DESIGN §8 on a D-float prior, §10 dense lane): beta, the reward EMA, the
/// rollback copies and the count of steps taken, with the keyed optimizer's settings (<see cref="OptimizerConfig"/>,
/// §8 section <c>optimizer</c>; its <c>update_rule</c> picks the dense Reptile rule too). The prior array is owned here and never replaced, so a backend
/// may keep a device copy of it (<see cref="ResidentPrior"/>); a rollback copies the saved values back into it and
/// marks it changed.
/// </summary>
/// <remarks>
/// A fresh optimizer without an initial prior starts with every value NaN, meaning "not set yet": the first step
/// on a column adopts the aggregate (<c>interpolate</c>) or starts from 0 (<c>delta</c>), as §8 does for a key
/// the prior lacks. Rule (b) of §8 (adding keys) has nothing to do on a fixed-length prior. Rollback copies live
/// in a ring of reused arrays, so steady-state rounds allocate nothing. The ring holds one array more than
/// <c>BackupVersions</c>: the copy a step saves goes into a slot that holds no version a rollback can reach, so
/// an unfinished step (<see cref="AbandonStep"/>) is undone without losing the oldest saved version.
/// </remarks>
public sealed class DenseReptileOptimizer
{
    private readonly float[][] ring;
    private int newest = -1;
    private (double Beta, int Newest, int Saved)? beforeStep;

    public DenseReptileOptimizer(int columns, OptimizerConfig? config = null, ReadOnlySpan<float> initialPrior = default)
    {
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be >= 1");
        Config = (config ?? OptimizerConfig.Default).Validated();
        Prior = new float[columns];
        if (initialPrior.IsEmpty) Prior.AsSpan().Fill(float.NaN);
        else if (initialPrior.Length != columns) throw new ArgumentException($"the initial prior has {initialPrior.Length} values, not {columns}", nameof(initialPrior));
        else initialPrior.CopyTo(Prior);
        Beta = Config.BetaInit;
        ring = new float[Config.BackupVersions + 1][];
        ResidentPrior = new ResidentPrior(Prior);
    }

    public OptimizerConfig Config { get; }

    /// <summary>The dense prior (D values; NaN = not set yet). A caller that writes it calls
    /// <see cref="ResidentPrior"/>.<see cref="Compute.ResidentPrior.MarkChanged"/> afterwards.</summary>
    public float[] Prior { get; }

    /// <summary><see cref="Prior"/> as a prior a device backend may keep resident across the optimizer's rounds.</summary>
    public ResidentPrior ResidentPrior { get; }

    public int Columns => Prior.Length;

    public double Beta { get; private set; }

    public double RewardEma { get; private set; }

    /// <summary>Dense steps taken (§10 <c>round</c>).</summary>
    public long Round { get; private set; }

    /// <summary>Allocates one rollback copy (tests make it fail as a large D's allocation may).</summary>
    internal Func<int, float[]> NewCopy { get; set; } = columns => new float[columns];

    /// <summary>Saved priors available to <see cref="Rollback"/>.</summary>
    public int SavedVersions { get; private set; }

    /// <summary>
    /// §8 (a) and (c): adjusts beta from the DRG flags (decay when vram or latency is high, growth when bandwidth
    /// is free, then one clamp), saves a copy of the prior, and returns the step to take. Follow with the step
    /// (fused in the combine, or <see cref="DenseReptile.Apply"/>) and then <see cref="CompleteStep"/>.
    /// </summary>
    public ReptileStep BeginStep(DrgFlags drg)
    {
        // The copy's array first (allocated once per slot): at a large D that allocation may fail, and it must
        // leave beta and the ring as they were (after them, beta had moved for a round that never happened and
        // the ring pointed at an empty slot that a rollback then "restored").
        ring[(newest + 1) % ring.Length] ??= NewCopy(Columns);
        beforeStep = (Beta, newest, SavedVersions);
        var beta = Beta;
        if (drg.VramHigh || drg.LatencyHigh) beta *= Config.BetaDecayRate;
        if (drg.BandwidthFree) beta *= Config.BetaGrowthRate;
        Beta = Math.Clamp(beta, Config.BetaInit * Config.BetaMinFactor, Math.Max(Config.BetaMax, Config.BetaInit * Config.BetaMinFactor));
        SaveCopy();
        return new ReptileStep(Config.UpdateRule == UpdateRule.Delta ? ReptileRule.Delta : ReptileRule.Interpolate, Beta);
    }

    /// <summary>§8 (e): the reward EMA after the step; counts the round.</summary>
    /// <exception cref="InvalidInputException">The reward is not finite (it would stay in the EMA for good and turn
    /// the rollback test off); the step stays begun.</exception>
    public void CompleteStep(double reward)
    {
        CheckReward(reward);
        beforeStep = null;
        RewardEma = (1 - Config.EmaAlpha) * RewardEma + Config.EmaAlpha * reward;
        Round++;
    }

    /// <summary>The whole §8 Apply on an aggregate already computed (D long; NaN leaves a value unchanged).</summary>
    /// <exception cref="InvalidInputException">The reward, or an aggregate value, is infinite (or the reward NaN);
    /// nothing changes.</exception>
    public void Apply(ReadOnlySpan<float> aggregate, double reward, DrgFlags drg)
    {
        if (aggregate.Length != Columns) throw new ArgumentException($"the aggregate has {aggregate.Length} values, the prior {Columns}", nameof(aggregate));
        // NaN is a column no domain sent; an infinite value is no aggregate §4 makes, and stepped in it would stay
        // in the prior for good (the keyed optimizer refuses it too).
        var infinite = aggregate.IndexOfAny(float.PositiveInfinity, float.NegativeInfinity);
        if (infinite >= 0) throw new InvalidInputException(FormattableString.Invariant($"dense optimizer update: aggregate value {infinite} is not finite ({aggregate[infinite]})"));
        CheckReward(reward);
        var step = BeginStep(drg);
        DenseReptile.Apply(Prior, aggregate, step);
        ResidentPrior.MarkChanged();
        CompleteStep(reward);
    }

    /// <summary>Sets beta and the reward EMA to saved values (README "Storage", beside DESIGN §11's files: the dense lane's state saved with the
    /// dense prior). A beta outside this configuration's bounds is clamped into them, as a step would clamp it. The
    /// rollback copies are not restored: there are none until the next step.</summary>
    /// <exception cref="InvalidInputException">A value is not finite (nothing changes).</exception>
    public void RestoreState(double beta, double rewardEma)
    {
        if (!double.IsFinite(beta)) throw new InvalidInputException(FormattableString.Invariant($"dense optimizer state: beta is not finite ({beta})"));
        if (!double.IsFinite(rewardEma)) throw new InvalidInputException(FormattableString.Invariant($"dense optimizer state: reward_ema is not finite ({rewardEma})"));
        Beta = Math.Clamp(beta, Config.BetaInit * Config.BetaMinFactor, Math.Max(Config.BetaMax, Config.BetaInit * Config.BetaMinFactor));
        RewardEma = rewardEma;
    }

    /// <summary>reward_ema - reward &gt; rollback_delta, with the EMA after the last step.</summary>
    public bool ShouldRollback(double reward) => RewardEma - reward > Config.RollbackDelta;

    /// <summary>Restores the newest saved prior (repeated calls go further back); false when none is left.
    /// Beta and the EMA are unchanged.</summary>
    public bool Rollback()
    {
        if (SavedVersions == 0) return false;
        ring[newest].AsSpan().CopyTo(Prior);
        ResidentPrior.MarkChanged();
        newest = (newest - 1 + ring.Length) % ring.Length;
        SavedVersions--;
        return true;
    }

    /// <summary>
    /// Undoes the <see cref="BeginStep"/> whose step has not completed (a round redone after a step that may
    /// have been applied in part): the prior, beta and the saved versions return to what they were before it.
    /// </summary>
    internal void AbandonStep()
    {
        if (beforeStep is not var (beta, previous, saved))
            throw new InvalidOperationException("no step has begun since the last CompleteStep");
        ring[newest].AsSpan().CopyTo(Prior);
        ResidentPrior.MarkChanged();
        Beta = beta;
        newest = previous;
        SavedVersions = saved;
        beforeStep = null;
    }

    /// <summary>As the keyed optimizer: a NaN or infinite reward would stay in the EMA for good, and
    /// <see cref="ShouldRollback"/> would be false from then on whatever the reward.</summary>
    internal static void CheckReward(double reward)
    {
        if (!double.IsFinite(reward)) throw new InvalidInputException(FormattableString.Invariant($"dense optimizer update: reward is not finite ({reward})"));
    }

    private void SaveCopy()
    {
        // With at most BackupVersions saved, the slot after the newest holds none of them (the ring is one longer).
        newest = (newest + 1) % ring.Length;
        var slot = ring[newest]!;
        Prior.AsSpan().CopyTo(slot);
        SavedVersions = Math.Min(SavedVersions + 1, Config.BackupVersions);
    }
}
