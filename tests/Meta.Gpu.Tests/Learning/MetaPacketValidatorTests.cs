using Meta.Gpu.Learning;

namespace Meta.Gpu.Tests.Learning;

public sealed class MetaPacketValidatorTests
{
    private static readonly MetaPacketValidator Validator = new();

    private static System.Text.Json.Nodes.JsonObject Json(string text) => System.Text.Json.Nodes.JsonNode.Parse(text)!.AsObject();

    private static DomainMetaUpdate Valid() =>
        new("d", ["a", "b"], [0.1f, 0.2f], Reward: 0.5, Confidence: 0.5, DateTimeOffset.UnixEpoch, ScoreDelta: 0.1);

    [Fact]
    public void A_valid_update_breaks_no_rule()
    {
        Assert.Empty(Validator.Validate(Valid()));
        Assert.True(Validator.ValidateUpdate(Valid()));
    }

    public static TheoryData<string, DomainMetaUpdate> Broken() => new()
    {
        { "confidence", Valid() with { Confidence = 0.0999 } },
        { "confidence", Valid() with { Confidence = 1.5 } },
        { "confidence", Valid() with { Confidence = -0.2 } },
        { "confidence", Valid() with { Confidence = double.NaN } },
        { "confidence", Valid() with { Confidence = double.PositiveInfinity } },
        { "too_many_keys", Valid() with { Keys = Enumerable.Range(0, 33).Select(i => $"k{i:D2}").ToArray(), Vector = new float[33] } },
        { "length_mismatch", Valid() with { Vector = [0.1f] } },
        { "duplicate_keys", Valid() with { Keys = ["a", "a"] } },
        { "score_delta", Valid() with { ScoreDelta = 1.0001 } },
        { "score_delta", Valid() with { ScoreDelta = -1.5 } },
        { "score_delta", Valid() with { ScoreDelta = double.NaN } },
        { "non_finite", Valid() with { Vector = [float.NaN, 0f] } },
        { "non_finite", Valid() with { Vector = [0f, float.NegativeInfinity] } },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void Each_rule_rejects_with_its_name(string rule, DomainMetaUpdate update)
    {
        Assert.Equal([rule], Validator.Validate(update));
        Assert.False(Validator.ValidateUpdate(update));
    }

    [Fact]
    public void Boundaries_pass()
    {
        Assert.Empty(Validator.Validate(Valid() with { Confidence = 0.1 }));
        Assert.Empty(Validator.Validate(Valid() with { Confidence = 1.0 }));
        Assert.Empty(Validator.Validate(Valid() with { ScoreDelta = -1.0 }));
        Assert.Empty(Validator.Validate(Valid() with { Keys = Enumerable.Range(0, 32).Select(i => $"k{i:D2}").ToArray(), Vector = new float[32] }));
    }

    [Fact]
    public void Every_broken_rule_is_listed_in_the_design_order()
    {
        var keys = Enumerable.Range(0, 34).Select(i => "k").ToArray();
        var update = new DomainMetaUpdate("d", keys, [float.NaN], 0, Confidence: 0.01, DateTimeOffset.UnixEpoch, ScoreDelta: 2);

        Assert.Equal(MetaPacketValidator.RuleOrder, Validator.Validate(update));
    }

    [Fact]
    public void Dense_updates_skip_the_key_rules()
    {
        var reasons = Validator.ValidateParts(0.5, keys: null, new float[100], scoreDelta: 0);
        Assert.Empty(reasons);
    }

    [Fact]
    public void Config_is_read_from_json_with_unknown_keys_refused()
    {
        var config = ValidatorConfig.Default.With(Json("""{"max_keys": 2}"""));
        Assert.Equal(2, config.MaxKeys);
        Assert.Equal(["too_many_keys"], new MetaPacketValidator(config).Validate(Valid() with { Keys = ["a", "b", "c"], Vector = new float[3] }));

        var error = Assert.Throws<InvalidInputException>(() => ValidatorConfig.Default.With(Json("""{"max_key": 2}""")));
        Assert.Contains("validator.max_key", error.Message, StringComparison.Ordinal);
    }
}
