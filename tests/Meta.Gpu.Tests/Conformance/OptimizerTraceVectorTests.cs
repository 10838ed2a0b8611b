using System.Text.Json.Nodes;
using Meta.Gpu.Conformance;

namespace Meta.Gpu.Tests.Conformance;

/// <summary>An optimizer trace's <c>apply</c> vector is a parameter vector, read strictly as every other one is
/// (<see cref="Meta.Gpu.Serialization.JsonRead.NumberArray"/>): a boolean or a numeric string in it is a mistake in the
/// trace, not the number 1 or 0.5. The wire reading let it through and the step replayed on made-up values.</summary>
public sealed class OptimizerTraceVectorTests
{
    [Theory]
    [InlineData("true", "vector[0]: expected a number, got true")]
    [InlineData("\"0.5\"", "vector[0]: expected a number, got \"0.5\"")]
    public async Task A_boolean_or_numeric_string_in_the_apply_vector_fails_the_step_naming_the_item(string item, string message)
    {
        var trace = JsonNode.Parse("""
            {"component": "optimizer", "update_rule": "delta", "config": {},
             "steps": [{"input": {"op": "apply", "vector": [ITEM], "keys": ["tau"], "reward": 0.0},
                        "expected": {"prior": {"tau": 0.1}}}]}
            """.Replace("ITEM", item, StringComparison.Ordinal))!.AsObject();

        var result = await ConformanceRunner.RunAsync("optimizer-vector.json", trace);

        var mismatch = Assert.Single(Assert.Single(result.Steps).Mismatches);
        Assert.Contains(message, mismatch.Actual, StringComparison.Ordinal);
    }
}
