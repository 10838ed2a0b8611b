using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// Replays <c>domain_learner</c> traces (DESIGN §14): file <c>update_rule</c> and <c>config</c> (§7 names); input
/// {domain_id, metrics, params}; output {keys, vector, confidence, score_delta, reward, state {ema_score,
/// last_score, history_len}}.
/// </summary>
public sealed class DomainLearnerReplayer : ITraceReplayer
{
    public string Component => "domain_learner";

    public IReadOnlyCollection<string> Settings { get; } = ["config", "update_rule"];

    public ITraceSession Open(JsonObject file)
    {
        var config = DomainLearnerConfig.Default.With(JsonRead.Object(file, "config"), "config");
        if (JsonRead.Has(file, "update_rule"))
            config = config with { UpdateRule = UpdateRuleNames.Parse(JsonRead.String(file, "update_rule", "", ""), "update_rule") };
        return new Session(new DomainMetaLearner(config));
    }

    private sealed class Session(DomainMetaLearner learner) : ITraceSession
    {
        public ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            var domainId = JsonRead.String(input, "domain_id", "", "");
            var update = learner.Observe(domainId, JsonRead.Object(input, "metrics"), DomainParameters.FromJson(JsonRead.Object(input, "params"), "params"));
            var state = learner.State(domainId)!;
            var output = new JsonObject
            {
                ["keys"] = new JsonArray(update.Keys.Select(k => (JsonNode?)JsonValue.Create(k)).ToArray()),
                ["vector"] = new JsonArray(update.Vector.Select(v => (JsonNode?)WireJson.Number(v)).ToArray()),
                ["confidence"] = WireJson.Number(update.Confidence),
                ["score_delta"] = WireJson.Number(update.ScoreDelta),
                ["reward"] = WireJson.Number(update.Reward),
                ["state"] = new JsonObject
                {
                    ["ema_score"] = state.EmaScore is double ema ? WireJson.Number(ema) : null,
                    ["last_score"] = WireJson.Number(state.LastScore),
                    ["history_len"] = state.HistoryLength,
                },
            };
            return ValueTask.FromResult(TraceOutput.Normalise(output));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
