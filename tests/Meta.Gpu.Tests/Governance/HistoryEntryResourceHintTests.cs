using System.Text.Json.Nodes;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §5 step 9: "History entry {timestamp, reward, reward_avg, policy_update, knobs_before, knobs_after,
/// resource_hint, rollback} ... appended as one JSON line to the policy log": the entry keeps the call's hint.
/// </summary>
public sealed class HistoryEntryResourceHintTests
{
    [Fact]
    public void Each_history_entry_and_log_line_carries_the_resource_hint_of_its_call()
    {
        var log = new StringWriter();
        using var layer = new MetaIntegrativeLayer(null, new MetaIntegrativeLayerOptions { PolicyLog = log });
        var calm = GovernanceTestData.Calm;

        var shrink = layer.Update(calm with { VramUtil = 0.9 });
        var grow = layer.Update(calm with { VramUtil = 0.4, LatencyMs = 50, ResamplesDefault = 7 });
        var none = layer.Update(calm);

        Assert.Equal([ResourceHint.Shrink(-0.15, 512), ResourceHint.Grow(0.10, 9), ResourceHint.None],
            layer.State.History.Select(e => e.ResourceHint).ToArray());
        Assert.Equal([shrink.ResourceProfileHint, grow.ResourceProfileHint, none.ResourceProfileHint],
            layer.State.History.Select(e => e.ResourceHint).ToArray());
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(JsonNode.Parse("""{"n_paths_delta":-0.15,"sketch_dim_target":512}"""), JsonNode.Parse(lines[0])!["resource_hint"], JsonNode.DeepEquals);
        Assert.Equal(JsonNode.Parse("""{"n_paths_delta":0.1,"resamples_target":9}"""), JsonNode.Parse(lines[1])!["resource_hint"], JsonNode.DeepEquals);
        Assert.Equal(JsonNode.Parse("{}"), JsonNode.Parse(lines[2])!["resource_hint"], JsonNode.DeepEquals);
    }
}
