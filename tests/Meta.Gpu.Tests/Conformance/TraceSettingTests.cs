using System.Text.Json.Nodes;
using Meta.Gpu.Conformance;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>
/// A trace file holds its component, optional file-level settings and its steps (DESIGN §14); each component reads
/// its own settings (the scheduler's `config`, the aggregator's `mode` and `defaults`, ...). A misspelt setting was
/// ignored, and the trace replayed on the defaults, passing wherever they gave the same answers: it is malformed,
/// naming the file, the key and the settings the component reads.
/// </summary>
public sealed class TraceSettingTests
{
    [Theory]
    [InlineData("scheduler", "confg", "config")]
    [InlineData("aggregator", "default", "mode, defaults")]
    [InlineData("optimizer", "update-rule", "config, update_rule")]
    public async Task A_setting_the_component_does_not_read_is_refused_naming_it(string component, string key, string known)
    {
        var trace = new JsonObject
        {
            ["component"] = component,
            [key] = new JsonObject(),
            ["steps"] = new JsonArray(new JsonObject { ["input"] = new JsonObject(), ["expected"] = new JsonObject { ["x"] = 1 } }),
        };

        var e = await Assert.ThrowsAsync<InvalidInputException>(() => ConformanceRunner.RunAsync("t.json", trace));

        Assert.Equal($"t.json: unknown setting \"{key}\" for component '{component}' (its settings: {known})", e.Message);
    }

    [Fact]
    public void Every_shipped_replayer_names_its_settings()
    {
        foreach (var replayer in TraceReplayers.All)
            Assert.True(replayer.Settings is { Count: > 0 }, $"{replayer.Component} names no settings");
    }

    [Fact]
    public async Task A_setting_the_component_reads_is_taken()
    {
        // jitter 0 and an interval of 1: the first window is due.
        var trace = JsonNode.Parse("""
            {"component": "scheduler", "config": {"jitter": 0, "update_interval_windows": 1, "min_interval_windows": 1},
             "steps": [{"input": {"telemetry": {}}, "expected": {"result": true, "interval_windows": 1}}]}
            """)!.AsObject();

        var result = await ConformanceRunner.RunAsync("ok.json", trace);

        Assert.True(result.Ok, string.Join("; ", result.Steps.SelectMany(s => s.Mismatches)));
    }
}
