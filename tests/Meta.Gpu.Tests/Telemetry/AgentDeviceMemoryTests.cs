using System.Text.Json.Nodes;
using Meta.Gpu.Learning;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Runtime;
using Meta.Gpu.Tests.Support;

namespace Meta.Gpu.Tests.Telemetry;

/// <summary>The agent's DRG profile and scheduler take vram_high from the device when the processing metrics lack
/// it (DESIGN §10, §13).</summary>
public sealed class AgentDeviceMemoryTests
{
    /// <summary>Fires every window, trusts a first observation, plain mean.</summary>
    private static readonly MetaLearningConfig Config = AgentTestConfig.EveryWindow;

    private static async Task PublishAsync(IEventBus bus, string topic, string json)
    {
        await bus.PublishAsync(topic, JsonNode.Parse(json));
        await bus.WaitForIdleAsync();
    }

    private static async Task<List<double>> RunAsync(MetaLearningAgent agent, IEventBus bus, ScriptedMemorySource? device, double[] utils, string window)
    {
        var betas = new List<double>();
        foreach (var util in utils)
        {
            if (device is not null) device.Util = util;
            await PublishAsync(bus, LearningTopics.PolicyPack,
                """{"domain_id": "a", "metrics": {"gain_p50": 0.5, "stability_avg": 0.9}, "controller": {"tau": 0.9}, "evaluator": {"g_min": 0.01}}""");
            await PublishAsync(bus, LearningTopics.ProcessingMetrics, window);
            betas.Add(agent.Optimizer.Beta);
        }
        return betas;
    }

    [Fact]
    public async Task Beta_decays_while_the_device_is_above_the_threshold_and_grows_back_after()
    {
        await using var bus = new EventBus();
        var device = new ScriptedMemorySource();
        await using var agent = new MetaLearningAgent(bus, Config, deviceTelemetry: device);
        await agent.StartAsync();
        const string window = """{"gain_p50": 0.5, "latency_ms": 50, "bandwidth_free": true}""";
        double[] utils = [0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.4, 0.4, 0.4];

        var betas = await RunAsync(agent, bus, device, utils, window);

        var init = Config.Optimizer.BetaInit;
        Assert.Equal(init * 1.1, betas[0], 12);
        for (var i = 1; i <= 8; i++) Assert.True(betas[i] < betas[i - 1] || betas[i] == Config.Optimizer.BetaFloor, $"round {i}: {betas[i]}");
        Assert.Equal(Config.Optimizer.BetaFloor, betas[8], 12);
        Assert.Equal(betas[8] * 1.1, betas[9], 12);
        Assert.True(betas[^1] > betas[9]);
    }

    [Fact]
    public async Task The_payloads_own_vram_high_wins_and_no_source_means_not_high()
    {
        await using var bus = new EventBus();
        var device = new ScriptedMemorySource(0.95);
        await using var agent = new MetaLearningAgent(bus, Config, deviceTelemetry: device);
        await agent.StartAsync();
        var betas = await RunAsync(agent, bus, null, [0.95, 0.95], """{"gain_p50": 0.5, "latency_ms": 50, "bandwidth_free": true, "vram_high": false}""");
        Assert.True(betas[1] > betas[0]);
        Assert.Equal(0, device.Reads);

        await using var bus2 = new EventBus();
        await using var plain = new MetaLearningAgent(bus2, Config);
        await plain.StartAsync();
        var plainBetas = await RunAsync(plain, bus2, null, [0.95, 0.95], """{"gain_p50": 0.5, "latency_ms": 50, "bandwidth_free": true}""");
        Assert.True(plainBetas[1] > plainBetas[0]);
    }

    [Fact]
    public async Task Scheduler_interval_shrinks_under_device_pressure()
    {
        // Latency in the comfortable band: only vram_high moves the interval (§9 rule 1).
        var config = Config with { Scheduler = SchedulerConfig.Default with { Jitter = 0 } };
        await using var bus = new EventBus();
        var device = new ScriptedMemorySource(0.5);
        await using var agent = new MetaLearningAgent(bus, config, deviceTelemetry: device);
        await agent.StartAsync();
        const string window = """{"gain_p50": 0.5, "latency_ms": 70}""";
        await PublishAsync(bus, LearningTopics.ProcessingMetrics, window);
        Assert.Equal(10, agent.Scheduler.IntervalWindows);
        device.Util = 0.9;
        await PublishAsync(bus, LearningTopics.ProcessingMetrics, window);
        Assert.Equal(7, agent.Scheduler.IntervalWindows);
        device.Util = 0.4;
        await PublishAsync(bus, LearningTopics.ProcessingMetrics, window);
        Assert.Equal(7, agent.Scheduler.IntervalWindows);
    }
}
