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
        Assert.True(JsonRead.Bool(obj, "i", false));
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
}
