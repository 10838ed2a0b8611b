using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// Replays <c>optimizer</c> traces (DESIGN §14): file <c>update_rule</c> and <c>config</c> (§8 names); input
/// <c>op</c> = apply {vector, keys, reward, drg_profile} -> {prior, beta, reward_ema}; should_rollback {reward}
/// -> {result}; rollback -> {prior}.
/// </summary>
public sealed class OptimizerReplayer : ITraceReplayer
{
    public string Component => "optimizer";

    public IReadOnlyCollection<string> Settings { get; } = ["config", "update_rule"];

    public ITraceSession Open(JsonObject file)
    {
        var config = OptimizerConfig.Default.With(JsonRead.Object(file, "config"), "config");
        if (JsonRead.Has(file, "update_rule"))
            config = config with { UpdateRule = UpdateRuleNames.Parse(JsonRead.String(file, "update_rule", "", ""), "update_rule") };
        return new Session(new OnlineReptileOptimizer(config));
    }

    private sealed class Session(OnlineReptileOptimizer optimizer) : ITraceSession
    {
        public ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            var op = JsonRead.String(input, "op", "", "");
            JsonObject output;
            switch (op)
            {
                case "apply":
                    // A parameter vector, read strictly as every other one (the wire reading took true as 1 and "0.5" as 0.5).
                    var values = JsonRead.NumberArray(input["vector"], "vector").Select(v => (float)v).ToArray();
                    var keys = JsonRead.StringArray(input["keys"], "keys");
                    optimizer.Apply(values, keys, JsonRead.Double(input, "reward", 0.0), DrgProfile.FromJson(JsonRead.Object(input, "drg_profile")));
                    output = new JsonObject
                    {
                        ["prior"] = TraceOutput.Map(optimizer.Prior),
                        ["beta"] = WireJson.Number(optimizer.Beta),
                        ["reward_ema"] = WireJson.Number(optimizer.RewardEma),
                    };
                    break;
                case "should_rollback":
                    output = new JsonObject { ["result"] = optimizer.ShouldRollback(JsonRead.Double(input, "reward", 0.0)) };
                    break;
                case "rollback":
                    optimizer.Rollback();
                    output = new JsonObject { ["prior"] = TraceOutput.Map(optimizer.Prior) };
                    break;
                default:
                    throw new InvalidInputException($"op: unknown optimizer operation \"{op}\" (apply, should_rollback, rollback)");
            }
            return ValueTask.FromResult(TraceOutput.Normalise(output));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
