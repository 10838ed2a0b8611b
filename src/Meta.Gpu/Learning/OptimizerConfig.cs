using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Learning;

/// <summary>Online Reptile settings (DESIGN §8, config section <c>optimizer</c>). Defaults are the design's.</summary>
/// <param name="BetaInit">The initial step size, in (0, 1] (a step above 1 moves an interpolating prior past the
/// aggregate); 0.1.</param>
/// <param name="BetaMax">Upper bound of beta, in [beta_init * beta_min_factor, 1]; 0.3.</param>
/// <param name="BetaDecayRate">Factor under load (vram or latency high), &gt; 0; 0.8.</param>
/// <param name="BetaGrowthRate">Factor when bandwidth is free, &gt; 0; 1.1.</param>
/// <param name="BetaMinFactor">Lower bound of beta as a share of beta_init, in [0, 1]; 0.5.</param>
/// <param name="EmaAlpha">Reward EMA weight of the new reward, in (0, 1]; 0.3.</param>
/// <param name="RollbackDelta">Roll back when reward_ema - reward exceeds this, &gt;= 0; 0.1.</param>
/// <param name="BackupVersions">Prior copies kept for rollback, 0 to <see cref="MaxBackupVersions"/>; 10.</param>
/// <param name="UpdateRule"><c>interpolate</c> (default, Reptile) or <c>delta</c>.</param>
public sealed record OptimizerConfig(
    double BetaInit = 0.1,
    double BetaMax = 0.3,
    double BetaDecayRate = 0.8,
    double BetaGrowthRate = 1.1,
    double BetaMinFactor = 0.5,
    double EmaAlpha = 0.3,
    double RollbackDelta = 0.1,
    int BackupVersions = 10,
    UpdateRule UpdateRule = UpdateRule.Interpolate)
{
    public static OptimizerConfig Default { get; } = new();

    /// <summary>The most rollback copies a configuration may ask for.</summary>
    public const int MaxBackupVersions = 1_000_000;

    private static readonly string[] Keys =
    [
        "beta_init", "beta_max", "beta_decay_rate", "beta_growth_rate", "beta_min_factor", "ema_alpha",
        "rollback_delta", "backup_versions", "update_rule",
    ];

    /// <summary>The lower bound of beta: beta_init * beta_min_factor.</summary>
    public double BetaFloor => BetaInit * BetaMinFactor;

    public OptimizerConfig Validated(string path = "optimizer")
    {
        if (!Enum.IsDefined(UpdateRule)) throw new InvalidInputException(FormattableString.Invariant($"{path}.update_rule: not an update rule ({(int)UpdateRule})"));
        // A step size above 1 moves an interpolating prior past the aggregate (the dense lane always interpolates,
        // and the training loop refuses such a step mid-run).
        if (!(BetaInit > 0 && BetaInit <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.beta_init: must be in (0, 1], got {BetaInit}"));
        if (!(BetaMinFactor >= 0 && BetaMinFactor <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.beta_min_factor: must be in [0, 1], got {BetaMinFactor}"));
        if (!(BetaMax >= BetaFloor && BetaMax <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.beta_max: must be in [beta_init * beta_min_factor ({BetaFloor}), 1], got {BetaMax}"));
        if (!(BetaDecayRate > 0) || !double.IsFinite(BetaDecayRate)) throw new InvalidInputException(FormattableString.Invariant($"{path}.beta_decay_rate: must be > 0, got {BetaDecayRate}"));
        if (!(BetaGrowthRate > 0) || !double.IsFinite(BetaGrowthRate)) throw new InvalidInputException(FormattableString.Invariant($"{path}.beta_growth_rate: must be > 0, got {BetaGrowthRate}"));
        if (!(EmaAlpha > 0 && EmaAlpha <= 1)) throw new InvalidInputException(FormattableString.Invariant($"{path}.ema_alpha: must be in (0, 1], got {EmaAlpha}"));
        if (!(RollbackDelta >= 0) || !double.IsFinite(RollbackDelta)) throw new InvalidInputException(FormattableString.Invariant($"{path}.rollback_delta: must be >= 0, got {RollbackDelta}"));
        if (BackupVersions < 0) throw new InvalidInputException(FormattableString.Invariant($"{path}.backup_versions: must be >= 0, got {BackupVersions}"));
        // The dense optimizer's ring of copies is sized from it when the first update fixes D (int.MaxValue + 1
        // overflowed there, in the middle of taking an update): the bound of safety.max_history.
        if (BackupVersions > MaxBackupVersions) throw new InvalidInputException(FormattableString.Invariant($"{path}.backup_versions: must be <= {MaxBackupVersions}, got {BackupVersions}"));
        return this;
    }

    /// <summary>Applies a JSON section over these settings; unknown keys are an error.</summary>
    public OptimizerConfig With(JsonObject? section, string path = "optimizer")
    {
        if (section is null) return Validated(path);
        JsonRead.RequireKnownKeys(section, path, Keys);
        return (this with
        {
            BetaInit = JsonRead.Setting(section, "beta_init", BetaInit, path),
            BetaMax = JsonRead.Setting(section, "beta_max", BetaMax, path),
            BetaDecayRate = JsonRead.Setting(section, "beta_decay_rate", BetaDecayRate, path),
            BetaGrowthRate = JsonRead.Setting(section, "beta_growth_rate", BetaGrowthRate, path),
            BetaMinFactor = JsonRead.Setting(section, "beta_min_factor", BetaMinFactor, path),
            EmaAlpha = JsonRead.Setting(section, "ema_alpha", EmaAlpha, path),
            RollbackDelta = JsonRead.Setting(section, "rollback_delta", RollbackDelta, path),
            BackupVersions = JsonRead.SettingInt(section, "backup_versions", BackupVersions, path),
            UpdateRule = JsonRead.Has(section, "update_rule")
                ? UpdateRuleNames.Parse(JsonRead.String(section, "update_rule", "", path), $"{path}.update_rule")
                : UpdateRule,
        }).Validated(path);
    }

    public JsonObject ToJson() => new()
    {
        ["beta_init"] = BetaInit,
        ["beta_max"] = BetaMax,
        ["beta_decay_rate"] = BetaDecayRate,
        ["beta_growth_rate"] = BetaGrowthRate,
        ["beta_min_factor"] = BetaMinFactor,
        ["ema_alpha"] = EmaAlpha,
        ["rollback_delta"] = RollbackDelta,
        ["backup_versions"] = BackupVersions,
        ["update_rule"] = UpdateRuleNames.Of(UpdateRule),
    };
}
