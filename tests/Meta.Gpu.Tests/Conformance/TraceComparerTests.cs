using System.Text.Json.Nodes;
using Meta.Gpu.Conformance;

namespace Meta.Gpu.Tests.Conformance;

public sealed class TraceComparerTests
{
    private static IReadOnlyList<TraceMismatch> Compare(string expected, string actual) =>
        TraceComparer.Compare(JsonNode.Parse(expected), JsonNode.Parse(actual));

    [Fact]
    public void An_integer_in_a_trace_matches_exactly_and_a_float_within_the_tolerance()
    {
        // The float tolerance (1e-5 relative) let a count, round or size of 1,000,000 be off by 10.
        Assert.NotEmpty(Compare("""{"round": 1000000}""", """{"round": 1000010}"""));
        Assert.Empty(Compare("""{"round": 1000000}""", """{"round": 1000000.0}"""));
        Assert.Empty(Compare("""{"reward": 1000000.0}""", """{"reward": 1000001}"""));
    }

    [Fact]
    public void Extra_fields_are_fine_but_missing_ones_are_not()
    {
        Assert.Empty(Compare("""{"a": 1}""", """{"a": 1, "b": 2}"""));
        var missing = Assert.Single(Compare("""{"a": 1, "b": 2}""", """{"a": 1}"""));
        Assert.Equal("b", missing.Path);
    }

    [Fact]
    public void Floats_match_within_tolerance_only()
    {
        Assert.Empty(Compare("""{"x": 1.0}""", """{"x": 1.000009}"""));
        Assert.NotEmpty(Compare("""{"x": 1.0}""", """{"x": 1.00003}"""));
        Assert.Empty(Compare("""{"x": "nan"}""", """{"x": "nan"}"""));
        Assert.NotEmpty(Compare("""{"x": "inf"}""", """{"x": 1e308}"""));
    }

    [Fact]
    public void Policy_update_and_its_sections_need_exactly_the_expected_keys()
    {
        Assert.NotEmpty(Compare("""{"meta_policy_update": {"rev": 1}}""", """{"meta_policy_update": {"rev": 1, "controller": {"tau": 1}}}"""));
        Assert.NotEmpty(Compare(
            """{"meta_policy_update": {"controller": {"tau": 1}}}""",
            """{"meta_policy_update": {"controller": {"tau": 1, "gamma_diversity": 0.3}}}"""));
        Assert.NotEmpty(Compare("""{"resource_profile_hint": {}}""", """{"resource_profile_hint": {"n_paths_delta": 0.1}}"""));
    }

    [Fact]
    public void Published_needs_the_same_topics_and_counts_and_payloads_compare_as_usual()
    {
        Assert.NotEmpty(Compare("""{"published": {}}""", """{"published": {"meta_metrics": [{}]}}"""));
        Assert.NotEmpty(Compare("""{"published": {"a": [{"x": 1}]}}""", """{"published": {"a": [{"x": 1}, {"x": 1}]}}"""));
        Assert.Empty(Compare("""{"published": {"a": [{"x": 1}]}}""", """{"published": {"a": [{"x": 1, "y": 2}]}}"""));
        Assert.NotEmpty(Compare(
            """{"published": {"resource_profile": [{"n_paths": 1}]}}""",
            """{"published": {"resource_profile": [{"n_paths": 1, "extra": 2}]}}"""));
    }

    [Fact]
    public void Absent_cooldowns_count_as_zero_both_ways()
    {
        Assert.Empty(Compare("""{"cooldowns": {"tau": 0}}""", """{"cooldowns": {}}"""));
        Assert.Empty(Compare("""{"cooldowns": {}}""", """{"cooldowns": {"tau": 0}}"""));
        Assert.NotEmpty(Compare("""{"cooldowns": {}}""", """{"cooldowns": {"tau": 5}}"""));
    }

    [Fact]
    public void Numbers_built_in_memory_compare_like_parsed_ones()
    {
        var expected = JsonNode.Parse("""{"n": 3, "cooldowns": {}}""");
        var actual = new JsonObject { ["n"] = 3, ["cooldowns"] = new JsonObject { ["tau"] = 0L } };
        Assert.Empty(TraceComparer.Compare(expected, actual));
        actual["n"] = 4L;
        Assert.NotEmpty(TraceComparer.Compare(expected, actual));
    }

    [Fact]
    public void A_boolean_string_null_object_or_array_item_that_differs_is_reported_at_its_path()
    {
        // Only fields the component gets right pass: a comparer that let any boolean, string or null through
        // would pass every shipped trace as well, so the traces alone do not check it.
        Assert.Equal([new TraceMismatch("rollback", "true", "false")], Compare("""{"rollback": true}""", """{"rollback": false}"""));
        Assert.Equal([new TraceMismatch("reason", "\"low_accept\"", "\"latency_high\"")], Compare("""{"reason": "low_accept"}""", """{"reason": "latency_high"}"""));
        Assert.Equal([new TraceMismatch("reason", "\"low_accept\"", "1")], Compare("""{"reason": "low_accept"}""", """{"reason": 1}"""));
        Assert.Equal([new TraceMismatch("saved_prior", "null", "{\"a\":1}")], Compare("""{"saved_prior": null}""", """{"saved_prior": {"a": 1}}"""));
        Assert.Equal([new TraceMismatch("knobs", "an object", "1")], Compare("""{"knobs": {"tau": 1}}""", """{"knobs": 1}"""));
        Assert.Equal([new TraceMismatch("vector[1]", "2.0", "2.5")], Compare("""{"vector": [1.0, 2.0]}""", """{"vector": [1.0, 2.5]}"""));
        Assert.Equal(
            [new TraceMismatch("published.meta_metrics[0].meta_score", "0.5", "0.7")],
            Compare("""{"published": {"meta_metrics": [{"meta_score": 0.5}]}}""", """{"published": {"meta_metrics": [{"meta_score": 0.7}]}}"""));
        Assert.Equal(
            [new TraceMismatch("meta_policy_update.controller", "(absent)", "{\"tau\":1}")],
            Compare("""{"meta_policy_update": {"rev": 1}}""", """{"meta_policy_update": {"rev": 1, "controller": {"tau": 1}}}"""));
    }

    [Fact]
    public void A_non_finite_value_matches_only_the_same_non_finite_value()
    {
        Assert.Empty(Compare("""{"x": "-inf"}""", """{"x": "-inf"}"""));
        Assert.NotEmpty(Compare("""{"x": "nan"}""", """{"x": 1.0}"""));
        Assert.NotEmpty(Compare("""{"x": "inf"}""", """{"x": "-inf"}"""));
        Assert.NotEmpty(Compare("""{"x": "-inf"}""", """{"x": "inf"}"""));
        Assert.NotEmpty(Compare("""{"x": 1.0}""", """{"x": "nan"}"""));
        Assert.NotEmpty(Compare("""{"x": 1.0}""", """{"x": "inf"}"""));
    }

    [Fact]
    public void The_profile_needs_exactly_the_expected_keys()
    {
        // DESIGN §14: `profile` (the supervisor's, after the step) is one of the objects compared on its exact keys.
        var extra = Assert.Single(Compare("""{"profile": {"n_paths": 4}}""", """{"profile": {"n_paths": 4, "batch": 8}}"""));
        Assert.Equal("profile.batch", extra.Path);
        Assert.Empty(Compare("""{"state": {"n_paths": 4}}""", """{"state": {"n_paths": 4, "batch": 8}}"""));
    }
}
