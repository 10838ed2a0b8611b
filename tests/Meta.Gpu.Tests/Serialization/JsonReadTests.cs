using System.Text.Json.Nodes;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Tests.Serialization;

public sealed class JsonReadTests
{
    [Fact]
    public void Numbers_built_in_memory_read_like_parsed_ones()
    {
        var obj = new JsonObject { ["i"] = 5, ["l"] = 7L, ["f"] = 0.5f, ["m"] = 1.25m, ["d"] = 2.5 };
        Assert.Equal(5.0, JsonRead.Double(obj, "i", 0));
        Assert.Equal(7.0, JsonRead.Double(obj, "l", 0));
        Assert.Equal(0.5, JsonRead.Double(obj, "f", 0));
        Assert.Equal(1.25, JsonRead.Double(obj, "m", 0));
        Assert.Equal(5, JsonRead.Int(obj, "i", 0));
        Assert.True(JsonRead.Bool(new JsonObject { ["one"] = 1, ["zero"] = 0L }, "one", false));
        Assert.False(JsonRead.Bool(new JsonObject { ["one"] = 1, ["zero"] = 0L }, "zero", true));
    }

    [Theory]
    [InlineData("0.5")]
    [InlineData("2")]
    [InlineData("-1")]
    public void A_flag_is_a_boolean_or_0_or_1_as_its_error_says_and_nothing_else(string json)
    {
        // {"oom_flag": 0.5} was an out-of-memory signal: any number but 0 read as true.
        var obj = JsonNode.Parse($$"""{"oom_flag": {{json}}}""")!.AsObject();
        var error = Assert.Throws<InvalidInputException>(() => JsonRead.Bool(obj, "oom_flag", false));
        Assert.Equal($"oom_flag: expected a boolean (or 0/1), got {json}", error.Message);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("\"0.5\"")]
    public void A_number_read_strictly_refuses_a_boolean_or_a_numeric_string(string json)
    {
        // A parameter vector's [true] was aggregated as 1.0, where ["abc"] was refused.
        var array = JsonNode.Parse($"[1, {json}]");
        var error = Assert.Throws<InvalidInputException>(() => JsonRead.NumberArray(array, "vector"));
        Assert.Equal($"vector[1]: expected a number, got {json}", error.Message);
        Assert.Equal([1.0, double.NaN], JsonRead.NumberArray(JsonNode.Parse("[1, \"nan\"]"), "vector"));
    }

    [Fact]
    public void A_config_round_trips_through_its_own_json()
    {
        var config = CrossMetaConfig.Default with { OutlierMinDomains = 7, DiversityEntropyTarget = null };
        Assert.Equal(config, CrossMetaConfig.Default.With(config.ToJson()));
    }

    [Theory]
    [InlineData("\"nan\"", double.NaN)]
    [InlineData("\"inf\"", double.PositiveInfinity)]
    [InlineData("\"-inf\"", double.NegativeInfinity)]
    [InlineData("true", 1.0)]
    public void Wire_forms_of_numbers_are_accepted(string json, double expected)
    {
        var obj = JsonNode.Parse($$"""{"x": {{json}}}""")!.AsObject();
        Assert.Equal(expected, JsonRead.Double(obj, "x", 0));
    }

    [Fact]
    public void A_wrong_type_names_the_field()
    {
        var obj = JsonNode.Parse("""{"x": "abc"}""")!.AsObject();
        var error = Assert.Throws<InvalidInputException>(() => JsonRead.Double(obj, "x", 0, "cross"));
        Assert.StartsWith("cross.x:", error.Message);
    }

    [Theory]
    [InlineData("2147483647", int.MaxValue)]
    [InlineData("-2147483648", int.MinValue)]
    [InlineData("2.0e3", 2000)]
    public void An_integer_is_read_up_to_both_ends_of_its_range(string json, int expected)
    {
        var obj = JsonNode.Parse($$"""{"n": {{json}}}""")!.AsObject();
        Assert.Equal(expected, JsonRead.Int(obj, "n", 0));
        Assert.Equal(expected, JsonRead.SettingInt(obj, "n", 0));
    }

    [Theory]
    [InlineData("2147483648", "safety.n: 2147483648 is out of the integer range [-2147483648, 2147483647]")]
    [InlineData("-2147483649", "safety.n: -2147483649 is out of the integer range [-2147483648, 2147483647]")]
    [InlineData("2.5", "safety.n: expected an integer, got 2.5")]
    public void An_integer_past_its_range_or_with_a_fraction_is_refused_naming_the_field(string json, string message)
    {
        var obj = JsonNode.Parse($$"""{"n": {{json}}}""")!.AsObject();
        Assert.Equal(message, Assert.Throws<InvalidInputException>(() => JsonRead.Int(obj, "n", 0, "safety")).Message);
        Assert.Equal(message, Assert.Throws<InvalidInputException>(() => JsonRead.SettingInt(obj, "n", 0, "safety")).Message);
    }
}
