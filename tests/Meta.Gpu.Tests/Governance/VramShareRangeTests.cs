using System.Text.Json.Nodes;
using Meta.Gpu.Cli;
using Meta.Gpu.Governance;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Governance;

/// <summary>
/// vram_util is a share of device memory in use (DESIGN §13: used / total), so one outside [0, 1] is no reading: a
/// percentage sent as 85 clipped the reward to its floor and kept the engine "under load" for good, a negative one
/// paid a reward for memory. Refused where it comes in, naming the field, before anything changes. The shares DESIGN
/// computes itself (§6: clip(vram_used_gb / vram_total_gb, 0, 1)) stay clipped, and so do the ends 0 and 1.
/// </summary>
public sealed class VramShareRangeTests
{
    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(85.0)]
    public void The_layer_refuses_a_vram_util_outside_the_share_and_changes_nothing(double vram)
    {
        using var layer = new MetaIntegrativeLayer();

        var error = Assert.Throws<InvalidInputException>(() => layer.Update(new TelemetrySnapshot { AcceptRate = 0.3, VramUtil = vram }));

        Assert.StartsWith("vram_util: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("outside [0, 1]", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, layer.State.DecisionCount);
        Assert.Equal(0.0, layer.State.RewardEma);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void The_layer_takes_either_end_of_the_share(double vram)
    {
        using var layer = new MetaIntegrativeLayer();
        Assert.Equal(vram, layer.Update(new TelemetrySnapshot { VramUtil = vram }).VramUtil);
    }

    [Fact]
    public async Task Govern_refuses_the_line_naming_it_and_the_field()
    {
        var (code, output, error) = await CliRun.RunAsync("""
            {"accept_rate": 0.3, "vram_util": 0.4}
            {"accept_rate": 0.3, "vram_util": 85}
            """, "govern");

        Assert.Equal(MetaGpuApp.ExitUserError, code);
        Assert.Single(output.TrimEnd().Split('\n'));
        Assert.Equal("meta-gpu: line 2: vram_util: 85 is outside [0, 1] (a share of device memory in use)", error.Trim());
    }

    [Theory]
    [InlineData("""{"gpu_memory_util": 1.2}""", "telemetry.gpu_memory_util: 1.2 is outside [0, 1] (a share of device memory in use)")]
    [InlineData("""{"gpu_memory_util": -0.5, "vram_util": 0.3}""", "telemetry.gpu_memory_util: -0.5 is outside [0, 1] (a share of device memory in use)")]
    [InlineData("""{"vram_util": 85}""", "telemetry.vram_util: 85 is outside [0, 1] (a share of device memory in use)")]
    [InlineData("""{"vram_used_gb": 20, "vram_total_gb": 0, "vram_util": -1}""", "telemetry.vram_util: -1 is outside [0, 1] (a share of device memory in use)")]
    public async Task The_supervisor_refuses_a_telemetry_share_outside_the_range_and_keeps_the_last_good_one(string telemetry, string message)
    {
        var (bus, supervisor, metrics) = Start();
        await using var _ = supervisor;
        await bus.PublishAsync("telemetry", JsonNode.Parse("""{"gpu_memory_util": 0.2}"""));
        await bus.PublishAsync("telemetry", JsonNode.Parse(telemetry));
        await bus.PublishAsync("processing_metrics", JsonNode.Parse("""{"accept_rate": 0.3}"""));

        var error = Assert.Single(bus.HandlerErrors);
        Assert.IsType<InvalidInputException>(error);
        Assert.Equal(message, error.Message);
        Assert.Equal(0.2, Assert.Single(metrics)["vram_util"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("""{"vram_used_gb": 100, "vram_total_gb": 80}""", 1.0)]
    [InlineData("""{"vram_used_gb": -20, "vram_total_gb": 80}""", 0.0)]
    [InlineData("""{"gpu_memory_util": 1}""", 1.0)]
    [InlineData("""{"vram_util": 0}""", 0.0)]
    public async Task The_supervisor_keeps_the_share_design_clips_and_the_ends(string telemetry, double expected)
    {
        var (bus, supervisor, metrics) = Start();
        await using var _ = supervisor;
        await bus.PublishAsync("telemetry", JsonNode.Parse(telemetry));
        await bus.PublishAsync("processing_metrics", JsonNode.Parse("""{"accept_rate": 0.3}"""));

        Assert.Empty(bus.HandlerErrors);
        Assert.Equal(expected, Assert.Single(metrics)["vram_util"]!.GetValue<double>());
    }

    private static (SequentialTestBus Bus, MetaSupervisor Supervisor, List<JsonObject> Metrics) Start()
    {
        var bus = new SequentialTestBus();
        var metrics = new List<JsonObject>();
        bus.Subscribe(GovernanceTopics.MetaMetrics, (e, _) => { metrics.Add((JsonObject)e.Payload!); return ValueTask.CompletedTask; });
        var supervisor = new MetaSupervisor(bus);
        supervisor.Start();
        return (bus, supervisor, metrics);
    }
}
