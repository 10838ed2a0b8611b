using System.Text.Json.Nodes;
using Meta.Gpu.Conformance;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>
/// A step whose <c>expected</c> is an empty object checks nothing: whatever the component returned, it matched. Like
/// a trace without steps (which fails, "the trace checks nothing"), it fails rather than count as a conforming step;
/// later steps still replay on the state it left.
/// </summary>
public sealed class EmptyExpectationTests
{
    [Fact]
    public async Task A_step_with_an_empty_expectation_fails_and_the_next_step_still_replays_after_it()
    {
        var trace = JsonNode.Parse("""
            {"component": "scheduler", "config": {"update_interval_windows": 2, "min_interval_windows": 1, "jitter": 0.0},
             "steps": [{"input": {"telemetry": {}}, "expected": {}},
                       {"input": {"telemetry": {}}, "expected": {"result": true, "interval_windows": 2}}]}
            """)!.AsObject();

        var result = await ConformanceRunner.RunAsync("empty-expected.json", trace);

        Assert.False(result.Steps[0].Passed, "a step that checks nothing counted as passed");
        Assert.Contains("checks nothing", Assert.Single(result.Steps[0].Mismatches).ToString(), StringComparison.Ordinal);
        Assert.True(result.Steps[1].Passed, string.Join("; ", result.Steps[1].Mismatches));
        Assert.False(result.Ok);
    }

    [Theory]
    [InlineData("""{"input": {"telemetry": {}}}""", "(missing)")]
    [InlineData("""{"input": {"telemetry": {}}, "expected": null}""", "null")]
    public async Task A_step_without_an_expectation_fails_naming_the_expectation_not_a_null_output(string step, string got)
    {
        // Reported as "(root): expected null, got {...}": as if the trace expected the component to return null.
        var trace = JsonNode.Parse($$"""{"component": "scheduler", "config": {}, "steps": [{{step}}]}""")!.AsObject();

        var result = await ConformanceRunner.RunAsync("no-expected.json", trace);

        Assert.False(result.Ok);
        var mismatch = Assert.Single(Assert.Single(result.Steps).Mismatches);
        Assert.Equal("(expected)", mismatch.Path);
        Assert.Equal(got, mismatch.Actual);
    }
}
