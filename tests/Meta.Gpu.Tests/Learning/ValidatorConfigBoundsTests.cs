using System.Text.Json.Nodes;
using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

/// <summary>
/// The <c>validator</c> section's settings at and just past the ends of their ranges. DESIGN §12: "Config
/// `validator`: min_confidence 0.1, max_keys 32, max_score_delta 1.0."; the ranges are the record's documented ones:
/// "MinConfidence: Lowest confidence accepted (equal passes), in [0, 1]", "MaxKeys: Most keys a (keyed) update may
/// carry, &gt;= 1", "MaxScoreDelta: Largest |score_delta| accepted, &gt;= 0" (infinite turns the rule off, written
/// "inf"). A refusal names the field under the section's path.
/// </summary>
public sealed class ValidatorConfigBoundsTests
{
    private static JsonObject Json(string text) => JsonNode.Parse(text)!.AsObject();

    [Fact]
    public void The_defaults_are_the_design_values()
    {
        Assert.Equal(0.1, ValidatorConfig.Default.MinConfidence);
        Assert.Equal(32, ValidatorConfig.Default.MaxKeys);
        Assert.Equal(1.0, ValidatorConfig.Default.MaxScoreDelta);
        Assert.Equal(ValidatorConfig.Default, new MetaPacketValidator().Config);
        Assert.Equal(ValidatorConfig.Default, MetaLearningConfig.FromJson(Json("{}")).Validator);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Min_confidence_at_either_end_of_zero_one_is_accepted(double value)
    {
        Assert.Equal(value, new ValidatorConfig(MinConfidence: value).Validated().MinConfidence);
    }

    [Theory]
    [InlineData(-4.9406564584124654E-324)]
    [InlineData(1.0000000000000002)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Min_confidence_outside_zero_one_is_refused_naming_it(double value)
    {
        var error = Assert.Throws<InvalidInputException>(() => new MetaPacketValidator(new ValidatorConfig(MinConfidence: value)));
        Assert.StartsWith("validator.min_confidence:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Max_keys_one_is_accepted_and_zero_or_negative_is_refused_naming_it()
    {
        Assert.Equal(1, new ValidatorConfig(MaxKeys: 1).Validated().MaxKeys);
        foreach (var bad in new[] { 0, -1, int.MinValue })
        {
            var error = Assert.Throws<InvalidInputException>(() => new MetaPacketValidator(new ValidatorConfig(MaxKeys: bad)));
            Assert.StartsWith("validator.max_keys:", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(double.PositiveInfinity)]
    public void Max_score_delta_zero_or_infinite_is_accepted(double value)
    {
        Assert.Equal(value, new ValidatorConfig(MaxScoreDelta: value).Validated().MaxScoreDelta);
    }

    [Theory]
    [InlineData(-4.9406564584124654E-324)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void A_negative_or_nan_max_score_delta_is_refused_naming_it(double value)
    {
        var error = Assert.Throws<InvalidInputException>(() => new MetaPacketValidator(new ValidatorConfig(MaxScoreDelta: value)));
        Assert.StartsWith("validator.max_score_delta:", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"validator": {"min_confidence": 1.0000001}}""", "validator.min_confidence")]
    [InlineData("""{"validator": {"min_confidence": "nan"}}""", "validator.min_confidence")]
    [InlineData("""{"validator": {"max_keys": 0}}""", "validator.max_keys")]
    [InlineData("""{"validator": {"max_keys": 1.5}}""", "validator.max_keys")]
    [InlineData("""{"validator": {"max_keys": true}}""", "validator.max_keys")]
    [InlineData("""{"validator": {"max_score_delta": -0.001}}""", "validator.max_score_delta")]
    [InlineData("""{"validator": {"max_score_delta": "-inf"}}""", "validator.max_score_delta")]
    public void A_bad_setting_in_a_document_is_refused_naming_its_path(string json, string name)
    {
        var error = Assert.Throws<InvalidInputException>(() => MetaLearningConfig.FromJson(Json(json)));
        Assert.StartsWith(name + ":", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_range_ends_are_read_from_a_document_and_written_back()
    {
        var config = MetaLearningConfig.FromJson(Json("""{"validator": {"min_confidence": 1, "max_keys": 1, "max_score_delta": "inf"}}""")).Validator;
        Assert.Equal(new ValidatorConfig(1.0, 1, double.PositiveInfinity), config);

        var written = config.ToJson();
        Assert.Equal("inf", written["max_score_delta"]!.GetValue<string>());
        Assert.Equal(config, ValidatorConfig.Default.With(written));

        var zero = ValidatorConfig.Default.With(Json("""{"min_confidence": 0, "max_score_delta": 0}"""));
        Assert.Equal(new ValidatorConfig(0.0, 32, 0.0), zero);
    }

    [Fact]
    public void A_partial_section_keeps_the_other_defaults()
    {
        var config = ValidatorConfig.Default.With(Json("""{"max_score_delta": 2.5}"""));
        Assert.Equal(ValidatorConfig.Default with { MaxScoreDelta = 2.5 }, config);
    }
}
