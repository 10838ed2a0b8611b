using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;

namespace Meta.Gpu.Tests.Learning;

public sealed class MetaLearningConfigTests
{
    [Fact]
    public void A_missing_section_validates_the_settings_it_keeps_as_every_section_does()
    {
        // cross and storage returned their settings unchecked when the section was missing.
        Assert.StartsWith("cross.trim_alpha:",
            Assert.Throws<InvalidInputException>(() => new CrossMetaConfig(TrimAlpha: 0.7).With(null)).Message, StringComparison.Ordinal);
        Assert.StartsWith("storage.retention:",
            Assert.Throws<InvalidInputException>(() => new Meta.Gpu.Storage.StorageConfig(Retention: -1).With(null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_partial_document_takes_the_defaults_for_the_rest()
    {
        var config = MetaLearningConfig.FromJson("""
            {"scheduler": {"update_interval_windows": 2, "jitter": 0}, "cross": {"method": "median", "diversity_entropy_target": null},
             "domain": {"update_rule": "delta"}, "optimizer": {"beta_init": 0.2, "update_rule": "delta"}, "storage": {"root": "priors"}}
            """);

        Assert.Equal(2, config.Scheduler.UpdateIntervalWindows);
        Assert.Equal(0.0, config.Scheduler.Jitter);
        Assert.Equal(3, config.Scheduler.MinIntervalWindows);
        Assert.Equal(AggregationMethod.Median, config.Cross.Method);
        Assert.Null(config.Cross.DiversityEntropyTarget);
        Assert.Equal(0.1, config.Cross.TrimAlpha);
        Assert.Equal(UpdateRule.Delta, config.Domain.UpdateRule);
        Assert.Equal(0.2, config.Optimizer.BetaInit);
        Assert.Equal(ValidatorConfig.Default, config.Validator);
        Assert.Equal("priors", config.Storage.Root);
        Assert.Equal(10, config.Storage.Retention);
    }

    [Fact]
    public void A_null_name_keeps_the_setting_as_a_null_number_does()
    {
        // They used to read as the unknown names "" (cross.method: unknown method "").
        var config = MetaLearningConfig.FromJson("""{"cross": {"method": null, "weighting": null, "missing_keys": null, "trim_alpha": null}}""");

        Assert.Equal(CrossMetaConfig.Default, config.Cross);
    }

    [Theory]
    [InlineData("""{"schedular": {}}""", "schedular")]
    [InlineData("""{"scheduler": {"interval": 3}}""", "scheduler.interval")]
    [InlineData("""{"cross": {"methods": "mean"}}""", "cross.methods")]
    [InlineData("""{"domain": {"lr": 1}}""", "domain.lr")]
    [InlineData("""{"optimizer": {"beta": 1}}""", "optimizer.beta")]
    [InlineData("""{"validator": {"min_conf": 1}}""", "validator.min_conf")]
    [InlineData("""{"storage": {"path": "x"}}""", "storage.path")]
    public void Unknown_keys_are_errors_naming_them(string json, string name)
    {
        var error = Assert.Throws<InvalidInputException>(() => MetaLearningConfig.FromJson(json));
        Assert.StartsWith(name, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"scheduler": {"min_interval_windows": 5, "max_interval_windows": 4}}""", "scheduler.max_interval_windows")]
    [InlineData("""{"optimizer": {"ema_alpha": 0}}""", "optimizer.ema_alpha")]
    [InlineData("""{"domain": {"update_rule": "average"}}""", "domain.update_rule")]
    [InlineData("""{"cross": {"trim_alpha": 0.5}}""", "cross.trim_alpha")]
    // A step past the aggregate (the fixtures' and defaults' betas are 0.1 to 0.5).
    [InlineData("""{"optimizer": {"beta_init": 1.5, "beta_max": 2.0}}""", "optimizer.beta_init")]
    [InlineData("""{"optimizer": {"beta_max": 1.2}}""", "optimizer.beta_max")]
    // The learner's and the optimizer's rules go together (one alone: knobs pulled to 0, or growing each round).
    [InlineData("""{"optimizer": {"update_rule": "delta"}}""", "domain.update_rule (interpolate) and optimizer.update_rule (delta)")]
    [InlineData("""{"domain": {"update_rule": "delta"}}""", "domain.update_rule (delta) and optimizer.update_rule (interpolate)")]
    [InlineData("""[1]""", "configuration")]
    [InlineData("""{""", "configuration")]
    public void Values_out_of_range_and_bad_documents_are_errors(string json, string name)
    {
        var error = Assert.Throws<InvalidInputException>(() => MetaLearningConfig.FromJson(json));
        Assert.StartsWith(name, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"schedular": {}}""", "config.schedular: unknown key in config")]
    [InlineData("""{"scheduler": {"interval": 3}}""", "config.scheduler.interval: unknown key in config.scheduler")]
    [InlineData("""{"cross": 5}""", "config.cross: expected an object")]
    [InlineData("""{"optimizer": {"ema_alpha": 0}}""", "config.optimizer.ema_alpha:")]
    [InlineData("""{"optimizer": {"update_rule": "delta"}}""", "config.domain.update_rule (interpolate) and config.optimizer.update_rule (delta)")]
    public void A_configuration_inside_a_larger_document_names_its_fields_by_where_it_sits(string json, string expected)
    {
        // An agent trace's config: named from its own root, "schedular" read as a setting of the trace file.
        var error = Assert.Throws<InvalidInputException>(() => MetaLearningConfig.FromJson(JsonNode.Parse(json)!.AsObject(), "config"));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Round_trips_through_json()
    {
        var config = MetaLearningConfig.Default.WithUpdateRule(UpdateRule.Delta) with { Cross = CrossMetaConfig.Compat };
        Assert.Equal(config, MetaLearningConfig.FromJson(config.ToJson().ToJsonString()));
    }

    [Theory]
    [InlineData("""{"cross": {"outlier_z": true}}""", "cross.outlier_z")]
    [InlineData("""{"cross": {"trim_alpha": "0.2"}}""", "cross.trim_alpha")]
    [InlineData("""{"cross": {"outlier_min_domains": true}}""", "cross.outlier_min_domains")]
    [InlineData("""{"optimizer": {"beta_init": false}}""", "optimizer.beta_init")]
    [InlineData("""{"scheduler": {"update_interval_windows": "10"}}""", "scheduler.update_interval_windows")]
    [InlineData("""{"storage": {"retention": true}}""", "storage.retention")]
    public void A_setting_of_another_JSON_type_than_a_number_is_refused_naming_it(string json, string field)
    {
        // Read leniently (as wire payloads are), true was z = 1 and "0.2" was 0.2.
        var error = Assert.Throws<InvalidInputException>(() => MetaLearningConfig.FromJson(json));
        Assert.StartsWith($"{field}: expected a number", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"safety": {"cooldown_cycles": true}}""", "safety.cooldown_cycles")]
    [InlineData("""{"meta_score": {"ema_alpha": "0.5"}}""", "meta_score.ema_alpha")]
    [InlineData("""{"controller_policy": {"tau_bounds": [0.5, "1.5"]}}""", "controller_policy.tau_bounds[1]")]
    [InlineData("""{"drg_policy": {"sketch_dim_set": [512, true]}}""", "drg_policy.sketch_dim_set[1]")]
    // The reward's weights and penalties were read as telemetry is: true as 1, "0.5" as 0.5, false as 0.
    [InlineData("""{"meta_score": {"weights": {"accept": true}}}""", "meta_score.weights.accept")]
    [InlineData("""{"meta_score": {"weights": {"stability": "0.5"}}}""", "meta_score.weights.stability")]
    [InlineData("""{"meta_score": {"penalties": {"latency": "0.1"}}}""", "meta_score.penalties.latency")]
    [InlineData("""{"meta_score": {"penalties": {"oom": false}}}""", "meta_score.penalties.oom")]
    public void A_governance_setting_of_another_JSON_type_than_a_number_is_refused_naming_it(string json, string field)
    {
        var error = Assert.Throws<InvalidInputException>(() => Meta.Gpu.Governance.IntegrativeMetaConfig.FromJson(JsonNode.Parse(json)!.AsObject()));
        Assert.StartsWith($"{field}: expected a number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_finite_setting_as_the_wire_writes_it_still_reaches_the_settings_own_check()
    {
        var error = Assert.Throws<InvalidInputException>(() => MetaLearningConfig.FromJson("""{"cross": {"outlier_z": "inf"}}"""));
        Assert.StartsWith("cross.outlier_z:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("expected a number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enum_settings_outside_their_enum_are_refused_naming_the_field()
    {
        // Validated() passed (AggregationMethod)42; every round then failed deep in a kernel.
        Assert.StartsWith("cross.method:", Assert.Throws<InvalidInputException>(() => new CrossMetaConfig(Method: (AggregationMethod)42).Validated()).Message, StringComparison.Ordinal);
        Assert.StartsWith("cross.weighting:", Assert.Throws<InvalidInputException>(() => new CrossMetaConfig(Weighting: (DomainWeighting)42).Validated()).Message, StringComparison.Ordinal);
        Assert.StartsWith("cross.missing_keys:", Assert.Throws<InvalidInputException>(() => new CrossMetaConfig(MissingKeys: (MissingKeys)42).Validated()).Message, StringComparison.Ordinal);
    }
}
