using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Conformance.Replayers;

/// <summary>
/// Replays <c>scheduler</c> traces (DESIGN §14): file <c>config</c> (§9 names); each step = RecordWindow() then
/// ShouldUpdate(input.telemetry) -> {result, interval_windows}. A trace with jitter gets a fixed-seed random
/// source so that a replay is repeatable.
/// </summary>
public sealed class SchedulerReplayer : ITraceReplayer
{
    public string Component => "scheduler";

    public IReadOnlyCollection<string> Settings { get; } = ["config"];

    public ITraceSession Open(JsonObject file)
    {
        var config = SchedulerConfig.Default.With(JsonRead.Object(file, "config"), "config");
        return new Session(new MetaScheduler(config, new Random(0)));
    }

    private sealed class Session(MetaScheduler scheduler) : ITraceSession
    {
        public ValueTask<JsonNode> StepAsync(JsonObject input, CancellationToken cancellationToken = default)
        {
            scheduler.RecordWindow();
            var result = scheduler.ShouldUpdate(JsonRead.Object(input, "telemetry"));
            JsonNode output = new JsonObject { ["result"] = result, ["interval_windows"] = scheduler.IntervalWindows };
            return ValueTask.FromResult(TraceOutput.Normalise(output));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
