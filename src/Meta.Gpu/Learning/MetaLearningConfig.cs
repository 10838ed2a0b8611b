using System.Text.Json;
using System.Text.Json.Nodes;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Serialization;
using Meta.Gpu.Storage;

namespace Meta.Gpu.Learning;

/// <summary>
/// The learning agent's configuration (DESIGN §10): sections <c>domain</c> (§7), <c>cross</c> (§4),
/// <c>optimizer</c> (§8), <c>scheduler</c> (§9), <c>validator</c> (§12), <c>storage</c> (§11). A partial document
/// takes the defaults for what it omits; an unknown key, in any section, is an error naming it.
/// </summary>
public sealed record MetaLearningConfig
{
    public static MetaLearningConfig Default { get; } = new();

    private static readonly string[] Sections = ["domain", "cross", "optimizer", "scheduler", "validator", "storage"];

    public DomainLearnerConfig Domain { get; init; } = DomainLearnerConfig.Default;

    public CrossMetaConfig Cross { get; init; } = CrossMetaConfig.Default;

    public OptimizerConfig Optimizer { get; init; } = OptimizerConfig.Default;

    public SchedulerConfig Scheduler { get; init; } = SchedulerConfig.Default;

    public ValidatorConfig Validator { get; init; } = ValidatorConfig.Default;

    /// <summary>Where a host keeps the priors (<c>new MetaStorageManager(config.Storage)</c>); the agent itself
    /// saves wherever the store it is given points.</summary>
    public StorageConfig Storage { get; init; } = StorageConfig.Default;

    /// <summary>Both the learner's and the optimizer's update rule (they go together: <c>delta</c> updates are
    /// added to the prior, <c>interpolate</c> updates are stepped toward).</summary>
    public MetaLearningConfig WithUpdateRule(UpdateRule rule) => this with
    {
        Domain = Domain with { UpdateRule = rule },
        Optimizer = Optimizer with { UpdateRule = rule },
    };

    /// <summary>Checks every section; throws <see cref="InvalidInputException"/> naming the first bad field (under
    /// <paramref name="path"/>, where the configuration sits in a larger document).</summary>
    public MetaLearningConfig Validated(string path = "")
    {
        // A section set to null in code (`with { Scheduler = null! }`) threw a NullReferenceException here.
        Present(Domain, "domain");
        Present(Cross, "cross");
        Present(Optimizer, "optimizer");
        Present(Scheduler, "scheduler");
        Present(Validator, "validator");
        Present(Storage, "storage");
        Domain.Validated(JsonRead.Join(path, "domain"));
        Cross.Validated(JsonRead.Join(path, "cross"));
        Optimizer.Validated(JsonRead.Join(path, "optimizer"));
        // A learner sending deltas to an optimizer that steps toward them pulls every knob to 0; values sent to
        // one that adds them grow the prior each round without bound.
        if (Domain.UpdateRule != Optimizer.UpdateRule)
            throw new InvalidInputException(
                $"{JsonRead.Join(path, "domain")}.update_rule ({UpdateRuleNames.Of(Domain.UpdateRule)}) and {JsonRead.Join(path, "optimizer")}.update_rule ({UpdateRuleNames.Of(Optimizer.UpdateRule)}) must be the same rule");
        Scheduler.Validated(JsonRead.Join(path, "scheduler"));
        Validator.Validated(JsonRead.Join(path, "validator"));
        Storage.Validated(JsonRead.Join(path, "storage"));
        return this;

        void Present(object? section, string name)
        {
            if (section is null) throw new InvalidInputException($"{JsonRead.Join(path, name)}: missing (null)");
        }
    }

    /// <summary>Applies a JSON document over these settings, section by section. Errors name fields under
    /// <paramref name="path"/>: a configuration nested in a larger document (a trace file's <c>config</c>) is named
    /// by where it sits there, as its other settings are.</summary>
    public MetaLearningConfig With(JsonObject? document, string path = "")
    {
        if (document is null) return Validated(path);
        JsonRead.RequireKnownKeys(document, path, Sections);
        return (this with
        {
            Domain = Domain.With(JsonRead.Object(document, "domain", path), JsonRead.Join(path, "domain")),
            Cross = Cross.With(JsonRead.Object(document, "cross", path), JsonRead.Join(path, "cross")),
            Optimizer = Optimizer.With(JsonRead.Object(document, "optimizer", path), JsonRead.Join(path, "optimizer")),
            Scheduler = Scheduler.With(JsonRead.Object(document, "scheduler", path), JsonRead.Join(path, "scheduler")),
            Validator = Validator.With(JsonRead.Object(document, "validator", path), JsonRead.Join(path, "validator")),
            Storage = Storage.With(JsonRead.Object(document, "storage", path), JsonRead.Join(path, "storage")),
        }).Validated(path);
    }

    /// <summary>The defaults overlaid with <paramref name="document"/>.</summary>
    public static MetaLearningConfig FromJson(JsonObject? document) => Default.With(document);

    /// <summary>As <see cref="FromJson(JsonObject?)"/>, naming fields under <paramref name="path"/>.</summary>
    public static MetaLearningConfig FromJson(JsonObject? document, string path) => Default.With(document, path);

    /// <summary>Parses JSON text (an object) over the defaults.</summary>
    public static MetaLearningConfig FromJson(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonInput.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"configuration: {JsonInput.Describe(e)}", e);
        }
        return FromJson(node as JsonObject ?? throw new InvalidInputException($"configuration: expected a JSON object, got {JsonRead.Show(node)}"));
    }

    public JsonObject ToJson() => new()
    {
        ["domain"] = Domain.ToJson(),
        ["cross"] = Cross.ToJson(),
        ["optimizer"] = Optimizer.ToJson(),
        ["scheduler"] = Scheduler.ToJson(),
        ["validator"] = Validator.ToJson(),
        ["storage"] = Storage.ToJson(),
    };
}
