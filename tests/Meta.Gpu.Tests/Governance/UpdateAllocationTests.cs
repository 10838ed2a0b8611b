using Meta.Gpu.Governance;

namespace Meta.Gpu.Tests.Governance;

public sealed class UpdateAllocationTests
{
    [Fact]
    public void Update_allocates_nothing_in_steady_state_without_a_policy_log()
    {
        using var layer = new MetaIntegrativeLayer();
        // A mix that exercises every rule: exploration, exploitation, evaluator, operators, hints and rollbacks.
        TelemetrySnapshot[] readings =
        [
            GovernanceTestData.Calm,
            GovernanceTestData.Calm with { AcceptRate = 0.01, StabilityAvg = 0.0, LatencyMs = 110 },
            GovernanceTestData.Calm with { StabilityAvg = 0.9, GainP50 = 0.3, GainPrev = 0.2, CiWidth = 0.3 },
            GovernanceTestData.Calm with { AcceptRate = 0.02, AcceptLowWindows = 6, LatencyMs = 240, VramUtil = 0.95, OomFlag = true },
            GovernanceTestData.Calm with { AcceptRate = 0.9, StabilityAvg = 0.9, VramUtil = 0.3, LatencyMs = 20 },
            new TelemetrySnapshot { LatencyMs = 300, VramUtil = 1, OomFlag = true },
        ];
        long rollbacksBefore;
        // Warm-up: JIT, and a history filled to max_history.
        for (var i = 0; i < 200; i++) layer.Update(readings[i % readings.Length]);
        rollbacksBefore = layer.State.RollbackCount;

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) layer.Update(readings[i % readings.Length]);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(layer.State.RollbackCount > rollbacksBefore, "the measured calls should include rollbacks");
        Assert.Equal(layer.Config.Safety.MaxHistory, layer.State.History.Count);
    }
}
