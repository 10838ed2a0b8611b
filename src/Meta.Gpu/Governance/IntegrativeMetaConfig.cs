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
    public static IntegrativeMetaConfig FromJson(JsonObject? json) => FromJson(json, "");

    /// <summary>As <see cref="FromJson(JsonObject?)"/>, naming fields under <paramref name="path"/>: a configuration
    /// nested in a larger document (a trace file's <c>config</c>) is named by where it sits there, as its other
    /// settings are.</summary>
    public static IntegrativeMetaConfig FromJson(JsonObject? json, string path)
    {
        if (json is null) return Default;
        JsonRead.RequireKnownKeys(json, path, "meta_score", "controller_policy", "evaluator_policy", "drg_policy", "safety");
        var config = new IntegrativeMetaConfig
        {
            MetaScore = MetaScoreConfig.FromJson(JsonRead.Object(json, "meta_score", path), JsonRead.Join(path, "meta_score")),
            ControllerPolicy = ControllerPolicyConfig.FromJson(JsonRead.Object(json, "controller_policy", path), JsonRead.Join(path, "controller_policy")),
            EvaluatorPolicy = EvaluatorPolicyConfig.FromJson(JsonRead.Object(json, "evaluator_policy", path), JsonRead.Join(path, "evaluator_policy")),
            DrgPolicy = DrgPolicyConfig.FromJson(JsonRead.Object(json, "drg_policy", path), JsonRead.Join(path, "drg_policy")),
            Safety = SafetyConfig.FromJson(JsonRead.Object(json, "safety", path), JsonRead.Join(path, "safety")),
        };
        config.Validate(path);
        return config;
    }

    /// <summary>Throws an <see cref="InvalidInputException"/> naming the first field out of range. The layer calls
    /// it on construction, so a configuration built in code is checked as strictly as one read from JSON.</summary>
    public void Validate() => Validate("");

    private void Validate(string path)
    {
        // A section set to null in code (`with { Safety = null! }`) threw a NullReferenceException here.
        ConfigCheck.Present(MetaScore, JsonRead.Join(path, "meta_score"));
        ConfigCheck.Present(ControllerPolicy, JsonRead.Join(path, "controller_policy"));
        ConfigCheck.Present(EvaluatorPolicy, JsonRead.Join(path, "evaluator_policy"));
        ConfigCheck.Present(DrgPolicy, JsonRead.Join(path, "drg_policy"));
        ConfigCheck.Present(Safety, JsonRead.Join(path, "safety"));
        MetaScore.Validate(JsonRead.Join(path, "meta_score"));
        ControllerPolicy.Validate(JsonRead.Join(path, "controller_policy"));
        EvaluatorPolicy.Validate(JsonRead.Join(path, "evaluator_policy"));
        DrgPolicy.Validate(JsonRead.Join(path, "drg_policy"));
        Safety.Validate(JsonRead.Join(path, "safety"));
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
