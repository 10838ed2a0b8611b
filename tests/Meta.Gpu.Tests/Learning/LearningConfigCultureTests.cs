using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The learning sections' range errors show a refused number as it is written in the configuration (a decimal point,
/// an ASCII minus) whatever the culture of the application that embeds the library: under de-DE "got 1,5" named a
/// form no JSON reader takes, under sv-SE or fa-IR "got −1" carried the minus U+2212. The cross section and the
/// governance sections already did (<c>ConfigCheck.Show</c>, commit "cross config ... invariantly").
/// </summary>
public sealed class LearningConfigCultureTests
{
    [Theory]
    [InlineData("beta_init", "optimizer.beta_init: must be in (0, 1], got 1.5")]
    [InlineData("beta_max", "optimizer.beta_max: must be in [beta_init * beta_min_factor (0.05), 1], got 0.01")]
    [InlineData("beta_decay_rate", "optimizer.beta_decay_rate: must be > 0, got -0.5")]
    [InlineData("rollback_delta", "optimizer.rollback_delta: must be >= 0, got -0.5")]
    [InlineData("backup_versions", "optimizer.backup_versions: must be >= 0, got -1")]
    [InlineData("update_rule", "optimizer.update_rule: not an update rule (-1)")]
    public void An_optimizer_range_error_shows_the_number_invariantly(string field, string expected)
    {
        var config = field switch
        {
            "beta_init" => new OptimizerConfig(BetaInit: 1.5),
            "beta_max" => new OptimizerConfig(BetaMax: 0.01),
            "beta_decay_rate" => new OptimizerConfig(BetaDecayRate: -0.5),
            "rollback_delta" => new OptimizerConfig(RollbackDelta: -0.5),
            "backup_versions" => new OptimizerConfig(BackupVersions: -1),
            _ => new OptimizerConfig(UpdateRule: (UpdateRule)(-1)),
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(() => config.Validated()));
    }

    [Theory]
    [InlineData("update_interval_windows", "scheduler.update_interval_windows: must be >= 1, got -1")]
    [InlineData("latency_target_ms", "scheduler.latency_target_ms: must be >= 0, got -0.5")]
    [InlineData("jitter", "scheduler.jitter: must be in [0, 1), got 1.5")]
    [InlineData("max_interval_windows", "scheduler.max_interval_windows: must be >= min_interval_windows (3), got -2")]
    [InlineData("interval_decay_factor", "scheduler.interval_decay_factor: must be in (0, 1], got 1.5")]
    [InlineData("interval_load_increment", "scheduler.interval_load_increment: must be >= 0, got -1")]
    public void A_scheduler_range_error_shows_the_number_invariantly(string field, string expected)
    {
        var config = field switch
        {
            "update_interval_windows" => new SchedulerConfig(UpdateIntervalWindows: -1),
            "latency_target_ms" => new SchedulerConfig(LatencyTargetMs: -0.5),
            "jitter" => new SchedulerConfig(Jitter: 1.5),
            "max_interval_windows" => new SchedulerConfig(MaxIntervalWindows: -2),
            "interval_decay_factor" => new SchedulerConfig(IntervalDecayFactor: 1.5),
            _ => new SchedulerConfig(IntervalLoadIncrement: -1),
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(() => config.Validated()));
    }

    [Theory]
    [InlineData("min_confidence", "validator.min_confidence: must be in [0, 1], got 1.5")]
    [InlineData("max_keys", "validator.max_keys: must be >= 1, got -1")]
    [InlineData("max_score_delta", "validator.max_score_delta: must be >= 0, got -0.5")]
    public void A_validator_range_error_shows_the_number_invariantly(string field, string expected)
    {
        var config = field switch
        {
            "min_confidence" => new ValidatorConfig(MinConfidence: 1.5),
            "max_keys" => new ValidatorConfig(MaxKeys: -1),
            _ => new ValidatorConfig(MaxScoreDelta: -0.5),
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(() => config.Validated()));
    }

    [Theory]
    [InlineData("ema_alpha", "domain.ema_alpha: must be in (0, 1], got 1.5")]
    [InlineData("meta_lr_min", "domain.meta_lr_min: must be >= 0, got -0.5")]
    [InlineData("meta_lr_max", "domain.meta_lr_max: must be >= meta_lr_min (0.5), got 0.25")]
    [InlineData("confidence_boost", "domain.confidence_boost: must be >= 0, got -0.5")]
    [InlineData("max_history", "domain.max_history: must be >= 1, got -1")]
    public void A_domain_learner_range_error_shows_the_number_invariantly(string field, string expected)
    {
        var config = field switch
        {
            "ema_alpha" => new DomainLearnerConfig(EmaAlpha: 1.5),
            "meta_lr_min" => new DomainLearnerConfig(MetaLrMin: -0.5),
            "meta_lr_max" => new DomainLearnerConfig(MetaLrMin: 0.5, MetaLrMax: 0.25),
            "confidence_boost" => new DomainLearnerConfig(ConfidenceBoost: -0.5),
            _ => new DomainLearnerConfig(MaxHistory: -1),
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(() => config.Validated()));
    }

    [Theory]
    [InlineData("outlier_min_domains", "cross.outlier_min_domains: must be >= 1, got -1")]
    [InlineData("method", "cross.method: not a method (-1)")]
    [InlineData("trim_alpha", "cross.trim_alpha: must be in [0, 0.5), got -0.5")]
    public void A_cross_range_error_shows_the_number_invariantly(string field, string expected)
    {
        var config = field switch
        {
            "outlier_min_domains" => new CrossMetaConfig(OutlierMinDomains: -1),
            "method" => new CrossMetaConfig(Method: (AggregationMethod)(-1)),
            _ => new CrossMetaConfig(TrimAlpha: -0.5),
        };

        Assert.Equal(expected, ForeignCulture.MessageOf(() => config.Validated()));
    }
}
