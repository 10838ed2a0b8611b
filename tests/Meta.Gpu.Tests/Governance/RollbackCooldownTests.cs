using System.Text.Json.Nodes;
using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §5 step 8 (D2): on a rollback "every knob changed this call or whose value the restore changed gets a
/// cooldown of 2 x cooldown_cycles" — a knob written this call counts even when its writes and the restore leave
/// it where it started, and the rebuilt update (D7) does not announce it.
/// </summary>
public sealed class RollbackCooldownTests
{
    [Fact]
    public void A_knob_written_this_call_gets_the_double_cooldown_even_when_it_ends_where_it_started()
    {
        using var layer = new MetaIntegrativeLayer(GovernanceTestData.EmaIsReward);
        layer.Update(new TelemetrySnapshot { AcceptRate = 0.6, StabilityAvg = 0.6, VramUtil = 0.6 }); // reward 0.3

        // Reward 0.1685, a fall of 0.1315: tau is explored to 1.0 and exploited back to 0.9, gamma explored to 0.35;
        // the restore (the knobs the previous call started with) puts gamma back to 0.3 and leaves tau at 0.9.
        var drop = layer.Update(new TelemetrySnapshot { AcceptRate = 0.01, StabilityAvg = 0.9, VramUtil = 0.6, GainP50 = 0.3, GainPrev = 0.2 });

        Assert.True(drop.Rollback);
        Assert.Equal(KnobVector.Initial, drop.Knobs);
        Assert.Equal(10, drop.Cooldowns[Knob.Tau]);
        Assert.Equal(10, drop.Cooldowns[Knob.GammaDiversity]);
        Assert.Equal(2, drop.Telemetry.PolicyChangesPending);
        Assert.Equal(JsonNode.Parse("""{"rev":2,"reason":"low_accept + rollback"}"""), drop.PolicyUpdate.ToJson(), JsonNode.DeepEquals);
    }
}
