using System.Text.Json.Nodes;
using Meta.Gpu.Conformance;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>
/// A trace step is {input, expected} (DESIGN §14). A misspelt key was ignored: a step with "inputs" replayed an empty
/// input, and where the component's answer to nothing matched the expectation the step passed without its input
/// ever being replayed. Such a step is malformed, named with its file, its index and the key.
/// </summary>
public sealed class StepKeyTests
{
    [Theory]
    [InlineData("inputs")]
    [InlineData("expect")]
    [InlineData("Input")]
    public async Task A_step_with_a_key_other_than_input_and_expected_is_refused_naming_it(string key)
    {
        // The scheduler's answer to an empty telemetry after one window: not due (interval 10), interval 10 - which
        // is what this step expects, so with the key ignored it passed.
        var trace = JsonNode.Parse($$$"""
            {"component": "scheduler", "config": {"jitter": 0},
             "steps": [{"input": {"telemetry": {}}, "expected": {"result": false}},
                       {"{{{key}}}": {"telemetry": {"latency_ms": 500}}, "expected": {"result": false}}]}
            """)!.AsObject();

        var e = await Assert.ThrowsAsync<InvalidInputException>(() => ConformanceRunner.RunAsync("typo.json", trace));

        Assert.Equal($"typo.json: step 1: unknown key \"{key}\" (a step has input and expected)", e.Message);
    }

    [Fact]
    public async Task A_step_of_input_and_expected_replays()
    {
        var trace = JsonNode.Parse("""
            {"component": "scheduler", "config": {"jitter": 0},
             "steps": [{"input": {"telemetry": {}}, "expected": {"result": false}}]}
            """)!.AsObject();

        var result = await ConformanceRunner.RunAsync("ok.json", trace);

        Assert.True(result.Ok, string.Join("; ", result.Steps.SelectMany(s => s.Mismatches)));
    }
}
