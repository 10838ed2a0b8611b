using System.Text.Json.Nodes;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Tests.Serialization;

/// <summary>A payload or configuration built in memory (an in-process bus carries the JsonObject itself) may hold a
/// double that is NaN or infinite, which no JSON text can: a field that refuses it must still be an
/// <see cref="InvalidInputException"/> naming the field and the value, not the JSON writer's ArgumentException
/// ("... cannot be written as valid JSON") thrown while the error message was being built.</summary>
public sealed class InMemoryNonFiniteTests
{
    /// <summary>A double, or a float where <paramref name="single"/>.</summary>
    private static JsonNode Number(double value, bool single) => single ? JsonValue.Create((float)value) : JsonValue.Create(value);

    [Theory]
    [InlineData(double.NaN, false, "nan")]
    [InlineData(double.PositiveInfinity, false, "inf")]
    [InlineData(double.NegativeInfinity, true, "-inf")]
    public void A_flag_refuses_it_naming_the_field(double value, bool single, string shown)
    {
        var error = Assert.Throws<InvalidInputException>(() => JsonRead.Bool(new JsonObject { ["oom_flag"] = Number(value, single) }, "oom_flag", false, "telemetry"));
        Assert.Equal($"telemetry.oom_flag: expected a boolean (or 0/1), got {shown}", error.Message);
    }

    [Theory]
    [InlineData(double.NaN, false, "nan")]
    [InlineData(double.PositiveInfinity, false, "inf")]
    [InlineData(double.NegativeInfinity, true, "-inf")]
    public void An_integer_refuses_it_naming_the_field(double value, bool single, string shown)
    {
        var error = Assert.Throws<InvalidInputException>(() => JsonRead.Int(new JsonObject { ["resamples_default"] = Number(value, single) }, "resamples_default", 10, "telemetry"));
        Assert.Equal($"telemetry.resamples_default: expected an integer, got {shown}", error.Message);
    }

    [Theory]
    [InlineData(double.NaN, false, "nan")]
    [InlineData(double.PositiveInfinity, false, "inf")]
    [InlineData(double.NegativeInfinity, true, "-inf")]
    public void A_section_refuses_it_naming_the_field(double value, bool single, string shown)
    {
        var error = Assert.Throws<InvalidInputException>(() => JsonRead.Object(new JsonObject { ["drg_profile"] = Number(value, single) }, "drg_profile", "input"));
        Assert.Equal($"input.drg_profile: expected an object, got {shown}", error.Message);
    }

    [Fact]
    public void A_section_refuses_an_array_holding_one_naming_the_field()
    {
        var error = Assert.Throws<InvalidInputException>(() => JsonRead.Object(new JsonObject { ["drg_profile"] = new JsonArray(1.0, double.NaN) }, "drg_profile", "input"));
        Assert.Equal("input.drg_profile: expected an object, got [1,\"NaN\"]", error.Message);
    }
}
