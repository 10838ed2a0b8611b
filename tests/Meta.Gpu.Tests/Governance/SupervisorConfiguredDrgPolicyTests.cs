using System.Text.Json.Nodes;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// DESIGN §6 with a drg_policy other than the default, which the supervisor traces (default configuration) never
/// use: "then clamp to [1, n_paths_max] (D4); sketch_dim = sketch_dim_target; resamples = max(1,
/// resamples_target)" and "Initial profile: n_paths min(200, n_paths_max) (D6)".
/// </summary>
public sealed class SupervisorConfiguredDrgPolicyTests : IAsyncLifetime
{
    private readonly SequentialTestBus _bus = new();
    private readonly List<BusEvent> _published = [];
    private MetaSupervisor _supervisor = null!;

    public ValueTask InitializeAsync()
    {
        foreach (var topic in new[] { GovernanceTopics.MetaPolicyUpdate, GovernanceTopics.ResourceProfile, GovernanceTopics.MetaMetrics })
            _bus.Subscribe(topic, (e, _) => { _published.Add(e); return ValueTask.CompletedTask; });
        var config = new IntegrativeMetaConfig
        {
            DrgPolicy = new DrgPolicyConfig { NPathsMax = 50, SketchDimSet = [256, 1024], ResamplesIncrement = 3 },
        };
        _supervisor = new MetaSupervisor(_bus, config);
        _supervisor.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _supervisor.DisposeAsync();

    private ValueTask Publish(string topic, string json) => _bus.PublishAsync(topic, JsonNode.Parse(json));

    private IEnumerable<JsonObject> Profiles =>
        _published.Where(e => e.Topic == GovernanceTopics.ResourceProfile).Select(e => (JsonObject)e.Payload!);

    [Fact]
    public void The_default_initial_profile_starts_at_n_paths_max()
    {
        Assert.Equal(50, _supervisor.Profile.NPaths);
    }

    [Fact]
    public async Task A_grow_at_n_paths_max_stays_there_and_targets_the_configured_resamples()
    {
        // grow: max(50 + 1, trunc(50 * 1.1) = 55) = 55, clamped to 50; resamples = 10 + 3.
        await Publish("telemetry", """{"vram_util": 0.25}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "engine_latency_ms": 50}""");

        Assert.Equal(50, _supervisor.Profile.NPaths);
        Assert.Equal(13, _supervisor.Profile.Resamples);
        var profile = Assert.Single(Profiles);
        Assert.Equal(50, profile["n_paths"]!.GetValue<int>());
        Assert.Equal(13, profile["resamples"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_shrink_targets_the_first_configured_sketch_dim_and_sheds_tier3()
    {
        // shrink: min(50 - 1, trunc(50 * 0.85) = 42) = 42; sketch_dim = sketch_dim_set[0] = 256; under load tier 3 off.
        await Publish("telemetry", """{"gpu_memory_util": 0.9}""");
        await Publish("processing_metrics", """{"accept_rate": 0.3, "engine_latency_ms": 50}""");

        Assert.Equal(ResourceProfile.Initial with { NPaths = 42, SketchDim = 256, Tier3TopK = 0 }, _supervisor.Profile);
        var profile = Assert.Single(Profiles);
        Assert.Equal(42, profile["n_paths"]!.GetValue<int>());
        Assert.Equal(256, profile["sketch_dim"]!.GetValue<int>());
        Assert.Equal(0, profile["tier3_topk"]!.GetValue<int>());
    }
}
