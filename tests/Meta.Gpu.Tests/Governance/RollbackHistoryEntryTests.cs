using System.Text.Json.Nodes;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §5 steps 8 and 9 for calls that roll back: "History entry {timestamp, reward, reward_avg, policy_update,
/// knobs_before (start of this call), knobs_after, resource_hint, rollback}" and "prev = the newest history entry
/// from earlier calls ... set every knob to prev.knobs_before (the knobs at the start of the previous call, so a
/// rollback undoes two calls)" — also when the previous call was itself a rollback.
/// </summary>
public sealed class RollbackHistoryEntryTests
{
    [Fact]
    public void A_rollback_is_logged_with_the_restored_knobs_and_the_rebuilt_policy_update()
    {
        var log = new StringWriter();
        using var layer = new MetaIntegrativeLayer(GovernanceTestData.EmaIsReward, new MetaIntegrativeLayerOptions { PolicyLog = log });
        var good = new TelemetrySnapshot { AcceptRate = 0.6, StabilityAvg = 0.6, VramUtil = 0.6 };
        layer.Update(good);
        layer.Update(good with { CiWidth = 0.2 }); // lambda_ci 0.5 -> 0.45
        var drop = layer.Update(new TelemetrySnapshot { AcceptRate = 0.02, AcceptLowWindows = 5, VramUtil = 0.6 });

        Assert.True(drop.Rollback);
        var line = JsonNode.Parse(log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[2])!.AsObject();
        Assert.Equal(drop.MetaScore, line["reward"]!.GetValue<double>());
        Assert.Equal(drop.MetaScoreAvg, line["reward_avg"]!.GetValue<double>());
        Assert.True(line["rollback"]!.GetValue<bool>());
        Assert.Equal(0.45, line["knobs_before"]!["lambda_ci"]!.GetValue<double>());
        Assert.Equal(KnobVector.Initial.ToJson(), line["knobs_after"], JsonNode.DeepEquals);
        Assert.Equal(JsonNode.Parse("""{"rev":3,"evaluator":{"lambda_ci":0.5},"reason":"low_accept + rollback"}"""),
            line["policy_update"], JsonNode.DeepEquals);
        Assert.Equal(JsonNode.Parse("{}"), line["resource_hint"], JsonNode.DeepEquals);
        Assert.True(layer.State.History.TryGetNewest(out var entry));
        Assert.Equal(line, entry.ToJson(), JsonNode.DeepEquals);
    }

    [Fact]
    public void A_rollback_right_after_a_rollback_restores_the_knobs_that_call_started_with()
    {
        using var layer = new MetaIntegrativeLayer(GovernanceTestData.EmaIsReward);
        var good = new TelemetrySnapshot { AcceptRate = 0.6, StabilityAvg = 0.6, VramUtil = 0.6 };
        layer.Update(good);
        layer.Update(good with { CiWidth = 0.2 }); // lambda_ci 0.45
        var first = layer.Update(new TelemetrySnapshot { AcceptRate = 0.02, AcceptLowWindows = 5, VramUtil = 0.6 }); // reward -0.053

        // reward -0.26: a fall of 0.207 from the previous call's EMA. prev.knobs_before had lambda_ci 0.45.
        var second = layer.Update(new TelemetrySnapshot { OomFlag = true, VramUtil = 0.6 });

        Assert.True(first.Rollback);
        Assert.True(second.Rollback);
        var expected = KnobVector.Initial;
        expected[Knob.LambdaCi] = 0.45;
        Assert.Equal(expected, second.Knobs);
        Assert.Equal(10, second.Cooldowns[Knob.LambdaCi]); // the restore changed it: 2 x cooldown_cycles
        Assert.Equal(9, second.Cooldowns[Knob.Tau]); // neither written nor restored: ticked down from 10
        Assert.Equal(JsonNode.Parse("""{"rev":4,"evaluator":{"lambda_ci":0.45},"reason":"low_accept + oom + rollback"}"""),
            second.PolicyUpdate.ToJson(), JsonNode.DeepEquals);
        Assert.Equal(2, second.RollbackCount);
        Assert.Equal(0.5, second.MetaSuccessRate);
    }
}
