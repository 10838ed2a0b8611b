using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Governance;

/// <summary>
/// The governance layer's configuration (DESIGN §5): five sections, each with the documented defaults. The JSON
/// form is snake_case; a partial configuration takes the defaults for what it omits; an unknown key at any level
/// and a value out of range are <see cref="InvalidInputException"/>s naming the field (its dotted path).
/// </summary>
public sealed record IntegrativeMetaConfig
{
    public static IntegrativeMetaConfig Default { get; } = new();

    public MetaScoreConfig MetaScore { get; init; } = MetaScoreConfig.Default;

    public ControllerPolicyConfig ControllerPolicy { get; init; } = ControllerPolicyConfig.Default;

    public EvaluatorPolicyConfig EvaluatorPolicy { get; init; } = EvaluatorPolicyConfig.Default;

    public DrgPolicyConfig DrgPolicy { get; init; } = DrgPolicyConfig.Default;

    public SafetyConfig Safety { get; init; } = SafetyConfig.Default;

    /// <summary>Reads and validates a configuration; null (or {}) is the default configuration.</summary>
    public static IntegrativeMetaConfig FromJson(JsonObject? json)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, "", "meta_score", "controller_policy", "evaluator_policy", "drg_policy", "safety");
        var config = new IntegrativeMetaConfig
        {
            MetaScore = MetaScoreConfig.FromJson(JsonRead.Object(json, "meta_score"), "meta_score"),
            ControllerPolicy = ControllerPolicyConfig.FromJson(JsonRead.Object(json, "controller_policy"), "controller_policy"),
            EvaluatorPolicy = EvaluatorPolicyConfig.FromJson(JsonRead.Object(json, "evaluator_policy"), "evaluator_policy"),
            DrgPolicy = DrgPolicyConfig.FromJson(JsonRead.Object(json, "drg_policy"), "drg_policy"),
            Safety = SafetyConfig.FromJson(JsonRead.Object(json, "safety"), "safety"),
        };
        config.Validate();
        return config;
    }

    /// <summary>Throws an <see cref="InvalidInputException"/> naming the first field out of range. The layer calls
    /// it on construction, so a configuration built in code is checked as strictly as one read from JSON.</summary>
    public void Validate()
    {
        MetaScore.Validate("meta_score");
        ControllerPolicy.Validate("controller_policy");
        EvaluatorPolicy.Validate("evaluator_policy");
        DrgPolicy.Validate("drg_policy");
        Safety.Validate("safety");
    }

    /// <summary>The full configuration (every field, defaults included) in its JSON form.</summary>
    public JsonObject ToJson() => WirePayload.Of(BuildJson());

    internal JsonObject BuildJson() => new()
    {
        ["meta_score"] = MetaScore.BuildJson(),
        ["controller_policy"] = ControllerPolicy.BuildJson(),
        ["evaluator_policy"] = EvaluatorPolicy.BuildJson(),
        ["drg_policy"] = DrgPolicy.BuildJson(),
        ["safety"] = Safety.BuildJson(),
    };
}
