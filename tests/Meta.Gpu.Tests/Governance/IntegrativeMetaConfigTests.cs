using System.Text.Json.Nodes;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

public sealed class IntegrativeMetaConfigTests
{
    private static IntegrativeMetaConfig Parse(string json) => IntegrativeMetaConfig.FromJson(JsonNode.Parse(json)!.AsObject());

    private static string ErrorOf(string json) => Assert.Throws<InvalidInputException>(() => Parse(json)).Message;

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var c = IntegrativeMetaConfig.Default;

        Assert.Equal((0.35, 0.25, 0.1), (c.MetaScore.Weights.Accept, c.MetaScore.Weights.Stability, c.MetaScore.Weights.Contrast));
        Assert.Equal((0.15, 0.1, 0.2), (c.MetaScore.Penalties.Latency, c.MetaScore.Penalties.Vram, c.MetaScore.Penalties.Oom));
        Assert.Equal((0.3, 120.0, 2.0, -1.0, 1.0), (c.MetaScore.EmaAlpha, c.MetaScore.LatencyNormalization, c.MetaScore.LatencyClipMax,
            c.MetaScore.RewardClipMin, c.MetaScore.RewardClipMax));
        Assert.Equal(new KnobBounds(0.5, 1.2), c.ControllerPolicy.TauBounds);
        Assert.Equal(new KnobBounds(0.1, 0.5), c.ControllerPolicy.GammaBounds);
        Assert.Equal((0.1, 0.05, 0.06, 0.8), (c.ControllerPolicy.TauStep, c.ControllerPolicy.GammaStep, c.ControllerPolicy.AcceptLow, c.ControllerPolicy.StabilityHigh));
        Assert.Equal(new KnobBounds(0.006, 0.02), c.EvaluatorPolicy.GMinBounds);
        Assert.Equal(new KnobBounds(0.4, 0.6), c.EvaluatorPolicy.LambdaCiBounds);
        Assert.Equal((0.002, 0.05, 5, 0.03), (c.EvaluatorPolicy.GMinStep, c.EvaluatorPolicy.LambdaCiStep, c.EvaluatorPolicy.AcceptLowWindows, c.EvaluatorPolicy.AcceptVeryLow));
        Assert.Equal([512, 1024, 2048], c.DrgPolicy.SketchDimSet);
        Assert.Equal((128, 0.85, 0.55, 100.0, 120.0), (c.DrgPolicy.NPathsMax, c.DrgPolicy.VramHigh, c.DrgPolicy.VramLow, c.DrgPolicy.LatencyComfort, c.DrgPolicy.LatencyHigh));
        Assert.Equal((-0.15, 0.10, 2), (c.DrgPolicy.NPathsShrink, c.DrgPolicy.NPathsGrow, c.DrgPolicy.ResamplesIncrement));
        Assert.Equal((0.1, 5, 10), (c.Safety.RollbackDelta, c.Safety.CooldownCycles, c.Safety.MaxHistory));
    }

    [Fact]
    public void A_partial_configuration_takes_the_defaults_for_what_it_omits()
    {
        var c = Parse("""{"meta_score": {"weights": {"accept": 0.5}}, "safety": {"cooldown_cycles": 3}, "drg_policy": null}""");

        Assert.Equal(0.5, c.MetaScore.Weights.Accept);
        Assert.Equal(0.25, c.MetaScore.Weights.Stability);
        Assert.Equal(0.3, c.MetaScore.EmaAlpha);
        Assert.Equal(3, c.Safety.CooldownCycles);
        Assert.Equal(10, c.Safety.MaxHistory);
        Assert.Equal(DrgPolicyConfig.Default, c.DrgPolicy);
        Assert.Equal(IntegrativeMetaConfig.Default, IntegrativeMetaConfig.FromJson(null));
    }

    [Fact]
    public void The_full_json_form_reads_back_to_the_same_configuration()
    {
        var custom = Parse("""{"controller_policy": {"tau_bounds": [0.6, 1.0]}, "drg_policy": {"sketch_dim_set": [256, 768]}}""");

        var again = IntegrativeMetaConfig.FromJson(custom.ToJson());

        Assert.Equal(custom.ToJson().ToJsonString(), again.ToJson().ToJsonString());
        Assert.Equal(new KnobBounds(0.6, 1.0), again.ControllerPolicy.TauBounds);
        Assert.Equal([256, 768], again.DrgPolicy.SketchDimSet);
    }

    [Theory]
    [InlineData("""{"safty": {}}""", "safty: unknown key")]
    [InlineData("""{"meta_score": {"weights": {"acept": 0.3}}}""", "meta_score.weights.acept: unknown key")]
    [InlineData("""{"meta_score": {"penalties": {"latncy": 0.3}}}""", "meta_score.penalties.latncy: unknown key")]
    [InlineData("""{"controller_policy": {"tau": 1}}""", "controller_policy.tau: unknown key")]
    [InlineData("""{"evaluator_policy": {"g_min": 1}}""", "evaluator_policy.g_min: unknown key")]
    [InlineData("""{"drg_policy": {"vram": 1}}""", "drg_policy.vram: unknown key")]
    [InlineData("""{"safety": {"cooldown": 1}}""", "safety.cooldown: unknown key")]
    public void An_unknown_key_at_any_level_is_named(string json, string expected)
    {
        Assert.StartsWith(expected, ErrorOf(json), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"safty": {}}""", "config.safty: unknown key in config")]
    [InlineData("""{"meta_score": {"weights": {"acept": 0.3}}}""", "config.meta_score.weights.acept: unknown key in config.meta_score.weights")]
    [InlineData("""{"safety": 5}""", "config.safety: expected an object")]
    [InlineData("""{"meta_score": {"ema_alpha": 1.5}}""", "config.meta_score.ema_alpha: must be")]
    [InlineData("""{"controller_policy": {"tau_bounds": [1.2, 0.5]}}""", "config.controller_policy.tau_bounds:")]
    public void A_configuration_inside_a_larger_document_names_its_fields_by_where_it_sits(string json, string expected)
    {
        // A trace file's config: named from its own root ("safty: unknown key in configuration"), it read as a
        // setting of the file beside component and steps.
        var error = Assert.Throws<InvalidInputException>(() => IntegrativeMetaConfig.FromJson(JsonNode.Parse(json)!.AsObject(), "config"));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"controller_policy": {"tau_bounds": [1.2, 0.5]}}""", "controller_policy.tau_bounds")]
    [InlineData("""{"controller_policy": {"gamma_bounds": [0.1]}}""", "controller_policy.gamma_bounds")]
    [InlineData("""{"evaluator_policy": {"g_min_bounds": [0.1, "nan"]}}""", "evaluator_policy.g_min_bounds[1]")]
    [InlineData("""{"controller_policy": {"tau_step": -0.1}}""", "controller_policy.tau_step")]
    [InlineData("""{"evaluator_policy": {"lambda_ci_step": -1}}""", "evaluator_policy.lambda_ci_step")]
    [InlineData("""{"evaluator_policy": {"accept_low_windows": 2.5}}""", "evaluator_policy.accept_low_windows")]
    [InlineData("""{"meta_score": {"ema_alpha": 0}}""", "meta_score.ema_alpha")]
    [InlineData("""{"meta_score": {"ema_alpha": 1.5}}""", "meta_score.ema_alpha")]
    [InlineData("""{"meta_score": {"ema_alpha": "fast"}}""", "meta_score.ema_alpha")]
    [InlineData("""{"meta_score": {"latency_normalization": 0}}""", "meta_score.latency_normalization")]
    [InlineData("""{"meta_score": {"reward_clip_min": 2}}""", "meta_score.reward_clip_min")]
    [InlineData("""{"meta_score": {"penalties": {"oom": -0.2}}}""", "meta_score.penalties.oom")]
    [InlineData("""{"drg_policy": {"sketch_dim_set": []}}""", "drg_policy.sketch_dim_set")]
    [InlineData("""{"drg_policy": {"sketch_dim_set": [512, 0]}}""", "drg_policy.sketch_dim_set[1]")]
    [InlineData("""{"drg_policy": {"n_paths_max": 0}}""", "drg_policy.n_paths_max")]
    [InlineData("""{"drg_policy": {"vram_low": 0.9}}""", "drg_policy.vram_low")]
    [InlineData("""{"drg_policy": {"n_paths_shrink": 0.1}}""", "drg_policy.n_paths_shrink")]
    [InlineData("""{"drg_policy": {"n_paths_grow": -0.1}}""", "drg_policy.n_paths_grow")]
    [InlineData("""{"safety": {"max_history": 0}}""", "safety.max_history")]
    [InlineData("""{"safety": {"cooldown_cycles": -1}}""", "safety.cooldown_cycles")]
    [InlineData("""{"safety": {"rollback_delta": -0.1}}""", "safety.rollback_delta")]
    [InlineData("""{"safety": 5}""", "safety")]
    [InlineData("""{"controller_policy": {"tau_bounds": [0.5, 0.9, 1.2]}}""", "controller_policy.tau_bounds")]
    [InlineData("""{"controller_policy": {"gamma_step": -0.05}}""", "controller_policy.gamma_step")]
    [InlineData("""{"evaluator_policy": {"g_min_step": -0.002}}""", "evaluator_policy.g_min_step")]
    [InlineData("""{"meta_score": {"weights": {"accept": "nan"}}}""", "meta_score.weights.accept")]
    [InlineData("""{"meta_score": {"penalties": {"latency": -0.15}}}""", "meta_score.penalties.latency")]
    [InlineData("""{"meta_score": {"penalties": {"vram": -0.1}}}""", "meta_score.penalties.vram")]
    [InlineData("""{"meta_score": {"latency_clip_max": -1}}""", "meta_score.latency_clip_max")]
    [InlineData("""{"drg_policy": {"latency_comfort": -1}}""", "drg_policy.latency_comfort")]
    [InlineData("""{"drg_policy": {"latency_high": -1}}""", "drg_policy.latency_high")]
    [InlineData("""{"drg_policy": {"n_paths_grow": 0}}""", "drg_policy.n_paths_grow")]
    [InlineData("""{"drg_policy": {"resamples_increment": -1}}""", "drg_policy.resamples_increment")]
    [InlineData("""{"safety": {"cooldown_cycles": 1073741824}}""", "safety.cooldown_cycles")] // twice it no longer fits an int (D2)
    [InlineData("""{"safety": {"max_history": 1000001}}""", "safety.max_history")]
    public void A_value_out_of_range_or_of_the_wrong_type_is_named(string json, string field)
    {
        Assert.StartsWith(field + ":", ErrorOf(json), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"drg_policy": {"n_paths_shrink": -1}}""")] // in [-1, 0)
    [InlineData("""{"meta_score": {"reward_clip_min": 0.5, "reward_clip_max": 0.5}}""")] // reward_clip_max >= reward_clip_min
    [InlineData("""{"controller_policy": {"tau_bounds": [0.7, 0.7]}}""")] // a closed range [lo, hi] may hold one value
    [InlineData("""{"safety": {"cooldown_cycles": 1073741823, "max_history": 1000000}}""")]
    public void A_value_on_the_edge_of_its_range_is_accepted(string json)
    {
        var config = Parse(json);

        Assert.Equal(config, IntegrativeMetaConfig.FromJson(config.ToJson()));
    }

    [Theory]
    [InlineData("""{"safety": {"cooldown_cycles": 3000000000}}""", "safety.cooldown_cycles: 3000000000 is out of the integer range [-2147483648, 2147483647]")]
    [InlineData("""{"drg_policy": {"n_paths_max": -1e10}}""", "drg_policy.n_paths_max: -1e10 is out of the integer range [-2147483648, 2147483647]")]
    [InlineData("""{"safety": {"max_history": 2.5}}""", "safety.max_history: expected an integer, got 2.5")]
    [InlineData("""{"safety": {"max_history": "inf"}}""", "safety.max_history: expected an integer, got \"inf\"")]
    public void An_integer_setting_too_large_for_an_int_is_named_as_out_of_range_not_as_a_non_integer(string json, string expected)
    {
        // "expected an integer, got 3000000000": the message said the one thing about the value that was right.
        Assert.Equal(expected, ErrorOf(json));
    }

    [Theory]
    [InlineData("""{"safety": {"cooldown_cycles": 1073741824}}""", "safety.cooldown_cycles: must be <= 1073741823, got 1073741824")]
    [InlineData("""{"safety": {"max_history": 1000001}}""", "safety.max_history: must be <= 1000000, got 1000001")]
    public void A_setting_above_its_limit_is_told_the_limit(string json, string expected)
    {
        // "cooldown_cycles: too large, got 1073741824" left the user to guess how large is allowed.
        Assert.Equal(expected, ErrorOf(json));
    }

    [Fact]
    public void Configurations_read_from_the_same_json_are_equal()
    {
        // sketch_dim_set is an ImmutableArray, which compares by reference: these were unequal.
        Assert.Equal(IntegrativeMetaConfig.Default, IntegrativeMetaConfig.FromJson(IntegrativeMetaConfig.Default.ToJson()));
        Assert.Equal(IntegrativeMetaConfig.Default.GetHashCode(), IntegrativeMetaConfig.FromJson(IntegrativeMetaConfig.Default.ToJson()).GetHashCode());
        Assert.NotEqual(DrgPolicyConfig.Default, DrgPolicyConfig.Default with { SketchDimSet = [512, 1024] });
    }

    [Fact]
    public void A_drg_policy_built_in_code_without_a_sketch_dim_set_hashes_prints_and_is_refused_by_name()
    {
        // A default ImmutableArray throws on foreach: GetHashCode and ToJson crashed before Validate could say why.
        var config = new IntegrativeMetaConfig { DrgPolicy = new DrgPolicyConfig { SketchDimSet = default } };
        _ = config.GetHashCode();
        _ = config.ToJson();
        Assert.StartsWith("drg_policy.sketch_dim_set:",
            Assert.Throws<InvalidInputException>(() => new MetaIntegrativeLayer(config)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_drg_policy_property_counts_in_its_equality()
    {
        // DrgPolicyConfig writes its own Equals: a property added later and left out of it would not count.
        foreach (var property in typeof(DrgPolicyConfig).GetProperties().Where(p => p.CanWrite))
        {
            var changed = DrgPolicyConfig.Default with { };
            object value = property.PropertyType == typeof(int) ? (int)property.GetValue(changed)! + 1
                : property.PropertyType == typeof(double) ? (double)property.GetValue(changed)! + 0.01
                : System.Collections.Immutable.ImmutableArray.Create(7);
            property.SetValue(changed, value);
            Assert.False(DrgPolicyConfig.Default.Equals(changed), property.Name);
        }
    }
}
