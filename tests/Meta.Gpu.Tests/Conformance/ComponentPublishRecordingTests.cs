using System.Text.Json.Nodes;
using Meta.Gpu.Conformance;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>
/// DESIGN §14: a bus trace's <c>published</c> holds every topic the component published during the step, so a
/// publish the trace does not list fails the step. The replayers recorded a fixed list of topics only: whatever the
/// component published elsewhere (a stray or wrong topic) was never compared and the replay passed.
/// </summary>
public sealed class ComponentPublishRecordingTests
{
    [Fact]
    public async Task A_topic_the_agent_publishes_beyond_the_four_knob_topics_is_compared_too()
    {
        // One dense update and a window that fires the scheduler: the agent publishes meta_dense_prior (§10) and
        // nothing on the knob topics (no policy pack is pending). A trace that expects nothing must then fail.
        var trace = JsonNode.Parse("""
            {"component": "agent",
             "config": {"scheduler": {"update_interval_windows": 1, "min_interval_windows": 1, "jitter": 0.0}},
             "steps": [{"input": {"events": [
                           {"topic": "federation.dense_update", "data": {"domain_id": "d0", "sequence": 1, "confidence": 0.8,
                                                                        "metrics": {"gain_p50": 0.5}, "vector": [0.1, 0.2, 0.3]}},
                           {"topic": "processing_metrics", "data": {"gain_p50": 0.5, "latency_ms": 50}}]},
                        "expected": {"published": {}, "saved_prior": null}}]}
            """)!.AsObject();

        var result = await ConformanceRunner.RunAsync("dense.json", trace);

        Assert.False(result.Ok, "the agent published meta_dense_prior, which the trace does not list, and the step passed");
        var mismatch = Assert.Single(Assert.Single(result.Steps).Mismatches);
        Assert.Equal("published.meta_dense_prior", mismatch.Path);
    }
}
