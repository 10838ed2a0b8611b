using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// Replays <c>integrative_layer</c> traces (DESIGN §14): file <c>config</c> (partial §5 layout); each step's input
/// is one telemetry snapshot; the output is the layer's result.
/// </summary>
public sealed class IntegrativeLayerReplayer : ITraceReplayer
{
    public string Component => "integrative_layer";

    public IReadOnlyCollection<string> Settings { get; } = ["config"];

    public ITraceSession Open(JsonObject file)
    {
        var config = IntegrativeMetaConfig.FromJson(JsonRead.Object(file, "config"), "config");
        return new Session(new MetaIntegrativeLayer(config));
    }

    private sealed class Session(MetaIntegrativeLayer layer) : ITraceSession
    {
        public ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            var result = layer.Update(TelemetrySnapshot.FromJson(input));
            return ValueTask.FromResult<JsonNode>(result.ToJson());
        }

        public ValueTask DisposeAsync()
        {
            layer.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
