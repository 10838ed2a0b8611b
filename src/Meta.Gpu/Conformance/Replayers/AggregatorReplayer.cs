using System.Text.Json.Nodes;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// Replays <c>aggregator</c> traces (DESIGN §14): file <c>mode</c> <c>compat</c> (base settings
/// <see cref="CrossMetaConfig.Compat"/>) or <c>default</c> (the design defaults, overlaid with the file's
/// <c>defaults</c>); each step's <c>config</c> overrides the base (explicit null = off, missing = the base's).
/// Output: {vector, keys, meta fields} at the top level.
/// </summary>
public sealed class AggregatorReplayer : ITraceReplayer
{
    public string Component => "aggregator";

    public IReadOnlyCollection<string> Settings { get; } = ["mode", "defaults"];

    public ITraceSession Open(JsonObject file)
    {
        var mode = JsonRead.String(file, "mode", "default", "");
        var baseConfig = mode switch
        {
            "compat" => CrossMetaConfig.Compat.With(JsonRead.Object(file, "defaults"), "defaults"),
            "default" => CrossMetaConfig.Default.With(JsonRead.Object(file, "defaults"), "defaults"),
            _ => throw new InvalidInputException($"mode: unknown aggregator trace mode \"{mode}\" (compat, default)"),
        };
        return new Session(baseConfig);
    }

    private sealed class Session(CrossMetaConfig baseConfig) : ITraceSession
    {
        public ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            var config = baseConfig.With(JsonRead.Object(input, "config"), "config");
            var updates = DomainUpdateInput.ListFromJson(input["updates"] ?? new JsonArray(), "updates");
            var result = TraceOutput.Normalise(CrossDomainMetaAggregator.Aggregate(updates, config).ToJson());
            return ValueTask.FromResult(result);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
