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
}
