using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Governance;

/// <summary>DESIGN §6: <c>meta_rollback_active</c> sets the skip count to 2 (it does not add to it); a skipped
/// window publishes nothing, and the telemetry kept meanwhile governs the first window updated after.</summary>
public sealed class SupervisorRollbackSkipTests : IAsyncLifetime
{
    private readonly SequentialTestBus _bus = new();
    private readonly List<BusEvent> _published = [];
    private readonly MetaSupervisor _supervisor;

    public SupervisorRollbackSkipTests() => _supervisor = new MetaSupervisor(_bus);

    public ValueTask InitializeAsync()
    {
        foreach (var topic in new[] { GovernanceTopics.MetaPolicyUpdate, GovernanceTopics.ResourceProfile, GovernanceTopics.MetaMetrics })
            _bus.Subscribe(topic, (e, _) => { _published.Add(e); return ValueTask.CompletedTask; });
        _supervisor.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _supervisor.DisposeAsync();

    private ValueTask Publish(string topic, string json) => _bus.PublishAsync(topic, JsonNode.Parse(json));

    private ValueTask Window() => Publish(GovernanceTopics.ProcessingMetrics, """{"accept_rate": 0.3}""");

    [Fact]
    public async Task Two_rollbacks_in_a_row_skip_two_windows_not_four()
    {
        await Publish(GovernanceTopics.MetaRollbackActive, "{}");
        await Publish(GovernanceTopics.MetaRollbackActive, "{}");
        Assert.Equal(2, _supervisor.SkipCount);

        await Window();
        await Window();
        Assert.Empty(_published);

        await Window();
        Assert.Equal(1, _supervisor.Layer.State.DecisionCount);
        Assert.Contains(_published, e => e.Topic == GovernanceTopics.MetaPolicyUpdate);
    }

    [Fact]
    public async Task A_skipped_window_still_replaces_the_kept_processing_payload()
    {
        // DESIGN §6: "processing_metrics: replace the kept processing payload; ...; then, if the skip count is > 0,
        // decrement it and stop".
        await Window();
        await Publish(GovernanceTopics.MetaRollbackActive, "{}");
        await Publish(GovernanceTopics.ProcessingMetrics, """{"accept_rate": 0.02, "gain_p50": 0.4}""");

        Assert.Equal(1, _supervisor.SkipCount);
        Assert.Equal(0.02, _supervisor.LastProcessingMetrics!["accept_rate"]!.GetValue<double>());
        Assert.Equal(0.4, _supervisor.LastProcessingMetrics["gain_p50"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_rollback_during_the_skip_starts_it_again_at_two()
    {
        await Publish(GovernanceTopics.MetaRollbackActive, "{}");
        await Window();
        Assert.Equal(1, _supervisor.SkipCount);

        await Publish(GovernanceTopics.MetaRollbackActive, "{}");
        Assert.Equal(2, _supervisor.SkipCount);
        await Window();
        await Window();
        Assert.Empty(_published);
        Assert.Equal(0, _supervisor.Layer.State.DecisionCount);

        await Window();
        Assert.Equal(1, _supervisor.Layer.State.DecisionCount);
    }

    [Fact]
    public async Task Telemetry_kept_during_the_skip_governs_the_first_window_after_it()
    {
        await Publish(GovernanceTopics.MetaRollbackActive, "{}");
        await Publish(GovernanceTopics.Telemetry, """{"vram_util": 0.2, "bus_latency_ms": 30}""");
        await Window();
        await Publish(GovernanceTopics.Telemetry, """{"gpu_memory_util": 0.6}""");
        await Window();
        Assert.Empty(_published);

        await Window();

        var metrics = (JsonObject)Assert.Single(_published, e => e.Topic == GovernanceTopics.MetaMetrics).Payload!;
        Assert.Equal(0.6, metrics["vram_util"]!.GetValue<double>());
        Assert.Equal(0.0, metrics["latency_ms"]!.GetValue<double>()); // replaced, not merged: no bus latency left
        Assert.Equal(0, _supervisor.SkipCount);
    }
}
