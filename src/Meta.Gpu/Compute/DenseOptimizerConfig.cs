namespace Meta.Gpu.Compute;

/// <summary>
/// Settings of the dense prior's optimizer (DESIGN §8 section <c>optimizer</c>, defaults the design's). The rule
/// defaults to <c>interpolate</c>, the dense lane's rule (§10).
/// </summary>
/// <param name="BetaInit">Starting beta and, times <paramref name="BetaMinFactor"/>, its floor; default 0.1.</param>
/// <param name="BetaMax">Ceiling of beta; default 0.3.</param>
/// <param name="BetaDecayRate">Factor when vram or latency is high; default 0.8.</param>
/// <param name="BetaGrowthRate">Factor when bandwidth is free; default 1.1.</param>
/// <param name="BetaMinFactor">Floor of beta as a share of <paramref name="BetaInit"/>; default 0.5.</param>
/// <param name="EmaAlpha">Reward EMA weight of the new reward, in [0, 1]; default 0.3.</param>
/// <param name="RollbackDelta">Drop of the reward below the EMA that asks for a rollback; default 0.1.</param>
/// <param name="Rule">Reptile rule; default interpolate.</param>
/// <param name="BackupVersions">Rollback copies kept (each is a D-float copy: lower it for large D); &gt;= 0.</param>
public sealed record DenseOptimizerConfig(
    double BetaInit = 0.1,
    double BetaMax = 0.3,
    double BetaDecayRate = 0.8,
    double BetaGrowthRate = 1.1,
    double BetaMinFactor = 0.5,
    double EmaAlpha = 0.3,
    double RollbackDelta = 0.1,
    int BackupVersions = 10,
    ReptileRule Rule = ReptileRule.Interpolate)
{
    /// <summary>Throws <see cref="InvalidInputException"/> naming the first field out of range.</summary>
    public DenseOptimizerConfig Validated(string path = "optimizer")
    {
        static bool Finite(double x) => double.IsFinite(x);
        if (!Finite(BetaInit) || BetaInit < 0) throw new InvalidInputException($"{path}.beta_init: must be >= 0, got {BetaInit}");
        if (!Finite(BetaMax) || BetaMax < 0) throw new InvalidInputException($"{path}.beta_max: must be >= 0, got {BetaMax}");
        if (!Finite(BetaDecayRate) || BetaDecayRate <= 0) throw new InvalidInputException($"{path}.beta_decay_rate: must be > 0, got {BetaDecayRate}");
        if (!Finite(BetaGrowthRate) || BetaGrowthRate <= 0) throw new InvalidInputException($"{path}.beta_growth_rate: must be > 0, got {BetaGrowthRate}");
        if (!Finite(BetaMinFactor) || BetaMinFactor < 0) throw new InvalidInputException($"{path}.beta_min_factor: must be >= 0, got {BetaMinFactor}");
        if (!Finite(EmaAlpha) || EmaAlpha < 0 || EmaAlpha > 1) throw new InvalidInputException($"{path}.ema_alpha: must be in [0, 1], got {EmaAlpha}");
        if (!Finite(RollbackDelta)) throw new InvalidInputException($"{path}.rollback_delta: must be finite, got {RollbackDelta}");
        if (BackupVersions < 0) throw new InvalidInputException($"{path}.backup_versions: must be >= 0, got {BackupVersions}");
        return this;
    }
}
